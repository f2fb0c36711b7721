/** The annotation workspace: NFOV and cubemap drawing on one instance set, viewers, panels, saving. */
import { ApiError, api, apiAll } from "../api";
import { FACE_NAMES, View, ViewParams, faceOf, lonlatToVec, vecToLonlat } from "../sphere";
import { Camera, heading } from "../ui/camera";
import { ClassPanel } from "../ui/classes";
import { CubemapViewer } from "../ui/cubemap";
import { askText, h, signOut, statusBadge, toast } from "../ui/dom";
import { EquirectViewer } from "../ui/equirect";
import { InstancePanel } from "../ui/instances";
import { Interaction, Tool } from "../ui/interaction";
import { PanoramaRenderer, loadImage } from "../render/panorama_gl";
import { drawDraft, drawHandles, drawInstances } from "../render/overlay";
import { Saver, readPending, readStash, reapply, restorePending, sameContent, clearStash } from "../saver";
import { Inst, Store, newUid } from "../store";
import type { Panorama, Project, InstancesResponse, DerivedAsset, LabelClass, Page } from "../types";
import { helpOverlay } from "../ui/help";
import { ReviewPanel } from "../ui/review";
import { DepthMap, SurfaceCursor, drawSurfaceCursor, fetchNpy, surfaceCursor } from "../render/depth";

interface Ctx {
  panoramaId: number;
  /** From the page (data-project): lets the project and classes load in parallel. */
  projectId?: number | null;
  username: string;
}

/** The first image: the same URL as the page's <link rel="preload">, so it is already coming. */
export function previewUrl(panoramaId: number): string {
  return `/api/panoramas/${panoramaId}/display/?width=2048`;
}

export async function workspacePage(root: HTMLElement, ctx: Ctx): Promise<void> {
  const t0 = performance.now();
  // everything the first frame needs is requested at once (the preview was preloaded by the page)
  const preview = loadImage(previewUrl(ctx.panoramaId));
  preview.catch(() => undefined);
  // the WebGL context, its shader and the preview texture are made while the API answers
  const glCanvas = h("canvas", { class: "gl-canvas", id: "gl-canvas" });
  let renderer: PanoramaRenderer | null = null;
  let glError = "";
  try {
    renderer = new PanoramaRenderer(glCanvas);
  } catch (err) {
    glError = (err as Error).message;
  }
  const marks: Record<string, number> = {};
  const uploaded = preview.then((img) => {
    marks.previewLoaded = performance.now();
    renderer?.addTile(img, [0, 0, 1, 1], 1);
    marks.previewUploaded = performance.now();
    return img;
  });
  uploaded.catch(() => undefined);
  const panoP = api<Panorama>("GET", `/api/panoramas/${ctx.panoramaId}/`);
  const projectId = ctx.projectId ?? (await panoP).project;
  const projectP = api<Project>("GET", `/api/projects/${projectId}/`);
  const classesP = api<LabelClass[]>("GET", `/api/classes/?project=${projectId}`);
  for (const p of [projectP, classesP]) p.catch(() => undefined);
  const [pano, project] = await Promise.all([panoP, projectP]);
  // the instance set (the slowest answer: ~0.5 s for 500 instances) is asked for after the small
  // requests, so that a one-worker server answers those first and the first frame does not wait
  const instancesP = api<InstancesResponse>("GET", `/api/panoramas/${ctx.panoramaId}/instances/`);
  const ws = new Workspace(root, ctx, pano, project, t0, glCanvas, renderer, glError);
  Object.assign(ws.marks, marks);
  await ws.start(instancesP, classesP, uploaded);
}

class Workspace {
  store = new Store();
  camera = new Camera();
  saver: Saver;
  classes: ClassPanel;
  instancesPanel: InstancePanel;
  reviewPanel: ReviewPanel;
  renderer: PanoramaRenderer | null = null;
  equirect!: EquirectViewer;
  cubemap!: CubemapViewer;
  interaction!: Interaction;
  canEdit: boolean;
  role: string;
  // DOM
  stage!: HTMLElement;
  glCanvas!: HTMLCanvasElement;
  overlay!: HTMLCanvasElement;
  hud!: HTMLElement;
  savePill!: HTMLElement;
  banner!: HTMLElement;
  toolbar!: HTMLElement;
  workflow!: HTMLElement;
  statusHost!: HTMLElement;
  cubeHost!: HTMLElement;
  eqModeHost!: HTMLElement;
  depthLegend!: HTMLElement;
  // depth (issue 6)
  depth: DepthMap | null = null;
  depthState: "none" | "loading" | "ready" | "error" = "none";
  depthMessage = "";
  surfaceCursorOn = true;
  lastCursor: SurfaceCursor | null = null;
  // interactive box tool (issue 7): the request and its returned polygon, not yet in the set
  interactive: {
    view: ViewParams;
    box: [number, number, number, number];
    positive: [number, number][];
    negative: [number, number][];
    result: Inst | null;
    busy: boolean;
    seq: number;
  } | null = null;
  boxCard!: HTMLElement;
  // render state
  private needs = { gl: true, overlay: true, side: true, panels: false };
  previewFailed = false;
  /** The next animation frame after the first frame was submitted (it has been presented). */
  firstFramePresentedAt: number | null = null;
  viewW = 0;
  viewH = 0;
  frameTimes: number[] = [];
  firstFrameAt: number | null = null;
  tilesLoaded = 0;
  marks: Record<string, number> = {};

  constructor(
    readonly root: HTMLElement,
    readonly ctx: Ctx,
    public pano: Panorama,
    readonly project: Project,
    readonly t0: number,
    glCanvas: HTMLCanvasElement,
    renderer: PanoramaRenderer | null,
    readonly glError: string,
  ) {
    this.glCanvas = glCanvas;
    this.renderer = renderer;
    this.role = project.role ?? "viewer";
    this.canEdit = ["admin", "manager", "reviewer"].includes(this.role) || (this.role === "annotator" && pano.assignees.includes(ctx.username));
    this.saver = new Saver(this.store, pano.id, this.canEdit);
    this.classes = new ClassPanel(pano.project, ["admin", "manager"].includes(this.role));
    this.instancesPanel = new InstancePanel(this.store, this.classes, this.canEdit);
    this.reviewPanel = new ReviewPanel(pano.id);
    this.camera.faceFov = project.default_fov || 100;
  }

  async start(dataP: Promise<InstancesResponse>, classesP: Promise<LabelClass[]>, preview: Promise<HTMLImageElement>): Promise<void> {
    this.timed("layout", () => this.layout());
    // imagery first: the first frame needs only the preview and the layout
    this.installHook();
    void this.loadImagery(preview);
    this.loop();
    this.store.on((kind) => {
      if (kind !== "selection") this.equirect.invalidate();
      if (kind === "selection") this.equirect.invalidate();
      this.needs.overlay = true;
      this.needs.side = true;
      this.refreshPanels();
    });
    this.saver.onChange((state) => {
      this.renderSaveState();
      if (state === "saved" && this.pano.status === "new") {
        // the server moves a new panorama to in_progress on its first save
        this.pano = { ...this.pano, status: "in_progress" };
        this.renderStatus();
        this.renderWorkflow();
      }
    });
    this.classes.onChange = () => {
      this.equirect.invalidate();
      this.request();
      this.refreshPanels();
    };
    this.classes.onDeleted = (_cls, cascaded) => {
      if (cascaded) void this.reloadFromServer(false);
    };
    const [data] = await Promise.all([dataP, this.classes.load(classesP)]);
    this.marks.dataLoaded = performance.now();
    this.timed("adopt", () => this.adopt(data));
    this.timed("restoreLocal", () => this.restoreLocal());
    document.body.dataset.ready = "1"; // the instances and classes are in
    window.addEventListener("resize", () => this.request(true));
    window.addEventListener("beforeunload", (e) => {
      if (this.saver.dirty() && this.canEdit) {
        this.saver.persist();
        e.preventDefault();
      }
    });
    this.renderSaveState();
    this.refreshPanels();
    this.needs.overlay = true;
    // secondary data after the first frame: on a busy server they would delay the imagery
    void this.afterFirstFrame().then(() => {
      void this.reviewPanel.load(this.pano.status);
      void this.loadDepth();
    });
  }

  /** Adopt the server's instance set. */
  adopt(data: InstancesResponse): void {
    const insts = this.saver.load(data);
    this.store.reset(insts);
    this.pano.revision = data.revision;
  }

  /** Pending edits left by a reload mid-save, or a stash left by a conflict. */
  restoreLocal(): void {
    if (!this.canEdit) return;
    const pending = readPending(this.pano.id);
    if (pending) {
      if (sameContent(pending.instances, this.store.instances)) this.saver.clearPending();
      else if (pending.baseRevision === this.saver.revision) {
        restorePending(this.saver, this.store, pending);
        toast("Restored edits that had not reached the server; saving them now.");
      } else {
        // based on an older revision: keep them as a stash the user can re-apply
        localStorage.setItem(`label360:stash:${this.pano.id}`, JSON.stringify(pending));
        this.saver.clearPending();
      }
    }
    this.renderBanner();
  }

  // ------------------------------------------------------------------ layout
  layout(): void {
    const p = this.pano;
    this.savePill = h("span", { class: "save-pill", id: "save-state", "data-state": "saved" }, "Saved");
    this.workflow = h("span", { class: "workflow" });
    this.statusHost = h("span", {});
    const prev = h("button", { class: "btn btn-ghost", id: "prev-pano", title: "Previous panorama ([)", onclick: () => this.navigate(-1) }, "‹ Prev");
    const next = h("button", { class: "btn btn-ghost", id: "next-pano", title: "Next panorama (])", onclick: () => this.navigate(1) }, "Next ›");
    const header = h("header", { class: "topbar" },
      h("a", { class: "brand", href: "/" }, h("span", { class: "brand-mark" }, "◐"), "Label360"),
      h("nav", { class: "crumbs" },
        h("a", { href: "/" }, "Projects"), h("span", { class: "sep" }, "/"),
        h("a", { href: `/projects/${p.project}/` }, this.project.name), h("span", { class: "sep" }, "/"),
        h("span", { class: "crumb-current", title: p.original_name }, p.original_name)),
      this.statusHost,
      h("span", { class: "spacer" }),
      prev, next, this.savePill, this.workflow,
      h("span", { class: "user" }, `${this.ctx.username} · ${this.role}`),
      h("a", { class: "btn btn-ghost", href: "/accounts/logout/", onclick: (e: Event) => (e.preventDefault(), logout()) }, "Sign out"));

    this.overlay = h("canvas", { class: "overlay-canvas", id: "draw-canvas", tabindex: 0 });
    this.hud = h("div", { class: "hud", id: "hud" });
    this.banner = h("div", { class: "banner", id: "banner", hidden: true });
    this.boxCard = h("div", { class: "box-card", id: "box-suggestion", hidden: true });
    const stageInner = h("div", { class: "stage-inner" }, this.glCanvas, this.overlay);
    this.stage = h("div", { class: "stage", id: "stage" }, stageInner, this.hud, this.banner, this.boxCard);

    this.toolbar = h("nav", { class: "toolbar", id: "toolbar" });
    const side = h("aside", { class: "sidebar" });
    this.eqModeHost = h("span", { class: "seg", id: "equirect-mode" });
    const eqHost = h("section", { class: "panel viewer-panel" }, h("header", { class: "panel-head" }, h("h2", {}, "Equirectangular"), h("span", { class: "muted" }, `${p.width}×${p.height}`), this.eqModeHost));
    const eqCanvasHost = h("div", { class: "equirect-host", id: "equirect" });
    this.depthLegend = h("div", { class: "depth-legend", id: "depth-legend", hidden: true }, h("span", {}, "near"), h("i", { class: "depth-ramp" }), h("span", {}, "far"));
    eqHost.append(eqCanvasHost, this.depthLegend);
    this.cubeHost = h("section", { class: "panel viewer-panel", id: "cubemap-panel" }, h("header", { class: "panel-head" }, h("h2", {}, "Cubemap"), h("span", { class: "legend" }, h("i", { class: "lg lg-yellow" }), "current ", h("i", { class: "lg lg-green" }), "annotated ", h("i", { class: "lg lg-red" }), "empty")));
    const cubeCanvasHost = h("div", { class: "cubemap-host", id: "cubemap" });
    this.cubeHost.appendChild(cubeCanvasHost);
    side.append(eqHost, this.cubeHost, this.classes.el, this.reviewPanel.el, this.instancesPanel.el);

    const main = h("div", { class: "workspace" }, this.toolbar, this.stage, side);
    this.root.replaceChildren(header, main);
    document.body.classList.add("page-workspace");

    this.equirect = new EquirectViewer(eqCanvasHost);
    this.equirect.onPick = (lon, lat) => this.lookAt(lon, lat);
    this.cubemap = new CubemapViewer(cubeCanvasHost);
    this.cubemap.onPick = (face) => this.setFace(face);

    if (this.renderer) this.renderer.onTextures = () => this.request();
    else toast(`WebGL unavailable: ${this.glError}`, "error");
    this.interaction = new Interaction(this.overlay, {
      view: () => this.view(),
      store: this.store,
      canEdit: this.canEdit,
      currentClass: () => this.classes.current,
      look: (dx, dy) => this.look(dx, dy),
      zoom: (f) => this.zoom(f),
      request: () => this.request(),
      requestOverlay: () => {
        this.needs.overlay = true;
      },
      isNfov: () => this.camera.mode === "nfov",
      onBox: (box) => this.startInteractive(box),
      onBoxPoint: (x, y, positive) => this.addInteractivePoint(x, y, positive),
    });
    this.interaction.setTool(this.canEdit ? "draw" : "pan");
    this.instancesPanel.onFocus = (inst) => this.focusInstance(inst);
    this.instancesPanel.onDecide = (action, insts) => void this.decideSuggestions(action, { insts });
    this.instancesPanel.onAcceptAbove = (minScore) => void this.decideSuggestions("accept", { minScore });
    this.renderToolbar();
    this.renderStatus();
    this.renderWorkflow();
    this.renderEquirectMode();
    document.addEventListener("keydown", (e) => this.onKey(e));
  }

  renderToolbar(): void {
    const it = this.interaction;
    const tb = (id: string, icon: string, label: string, key: string, on: () => void, active = false, disabled = false) =>
      h("button", { class: `tool${active ? " active" : ""}`, id, title: `${label} (${key})`, disabled, onclick: () => (on(), this.overlay.focus()) },
        h("span", { class: "tool-icon" }, icon), h("span", { class: "tool-label" }, label));
    const ro = !this.canEdit;
    this.toolbar.replaceChildren(
      tb("tool-draw", "✎", "Draw", "D", () => this.setTool("draw"), it.tool === "draw", ro),
      tb("tool-edit", "⬚", "Edit", "E", () => this.setTool("edit"), it.tool === "edit", ro),
      tb("tool-pan", "✥", "Pan", "V", () => this.setTool("pan"), it.tool === "pan"),
      tb("tool-box", "⊡", "Box AI", "B", () => this.setTool("box"), it.tool === "box", ro),
      h("hr"),
      tb("tool-part", "⊕", "Add part", "A", () => this.startAddPart(), it.addPart, ro || !this.store.selected),
      tb("tool-undo", "↶", "Undo", "Ctrl+Z", () => this.store.undo(), false, ro || !this.store.canUndo()),
      tb("tool-redo", "↷", "Redo", "Ctrl+Shift+Z", () => this.store.redo(), false, ro || !this.store.canRedo()),
      tb("tool-delete", "✕", "Delete", "Del", () => it.deleteSelection(), false, ro || !this.store.selected),
      h("hr"),
      tb("mode-nfov", "◎", "NFOV", "N", () => this.setMode("nfov"), this.camera.mode === "nfov"),
      tb("mode-cubemap", "⬒", "Cubemap", "C", () => this.setMode("cubemap"), this.camera.mode === "cubemap"),
      ...(this.depth ? [tb("tool-surface", "◍", "Surface", "S", () => this.toggleSurfaceCursor(), this.surfaceCursorOn)] : []),
      h("span", { class: "grow" }),
      tb("tool-help", "?", "Help", "?", () => helpOverlay()),
    );
  }

  toggleSurfaceCursor(): void {
    if (!this.depth) return;
    this.surfaceCursorOn = !this.surfaceCursorOn;
    this.renderToolbar();
    this.needs.overlay = true;
  }

  /** Colour / Depth switch of the equirect viewer (Depth only when a depth map exists). */
  renderEquirectMode(): void {
    const mode = this.equirect.mode;
    const hasDepth = this.equirect.hasDepth();
    const titles: Record<string, string> = {
      none: "No depth map for this panorama (a manager can run the depth job)",
      loading: "Loading the depth map…",
      error: `Depth map not available: ${this.depthMessage}`,
      ready: "Show the colourised depth (near = warm)",
    };
    const seg = (id: string, label: string, value: "color" | "depth", disabled: boolean, title: string) =>
      h("button", { class: `seg-btn${mode === value ? " active" : ""}`, id, disabled, title, "aria-pressed": String(mode === value),
        onclick: () => this.setEquirectMode(value) }, label);
    this.eqModeHost.dataset.depth = this.depthState;
    this.eqModeHost.replaceChildren(
      seg("equirect-color", "Colour", "color", false, "Show the panorama"),
      seg("equirect-depth", this.depthState === "loading" ? "Depth…" : "Depth", "depth", !hasDepth, titles[this.depthState]),
    );
    this.depthLegend.hidden = mode !== "depth";
  }

  setEquirectMode(mode: "color" | "depth"): void {
    this.equirect.setMode(mode);
    this.renderEquirectMode();
    this.needs.overlay = true;
  }

  /** Resolves once the first frame with imagery is on screen. */
  afterFirstFrame(): Promise<void> {
    return new Promise<void>((resolve) => {
      const wait = () => (this.firstFrameAt !== null || this.previewFailed ? resolve() : window.setTimeout(wait, 20));
      wait();
    });
  }

  /** The panorama's depth map (and normals when small enough), if the depth job has run. */
  async loadDepth(): Promise<void> {
    const id = this.pano.id;
    const latest = (page: Page<DerivedAsset>) => page.results.reduce<DerivedAsset | null>((a, b) => (!a || b.version > a.version ? b : a), null);
    try {
      const [depthPage, normalPage] = await Promise.all([
        api<Page<DerivedAsset>>("GET", `/api/assets/?panorama=${id}&kind=depth`),
        api<Page<DerivedAsset>>("GET", `/api/assets/?panorama=${id}&kind=normals`),
      ]);
      const depthAsset = latest(depthPage);
      if (!depthAsset) return;
      this.depthState = "loading";
      this.renderEquirectMode();
      const normalAsset = latest(normalPage);
      // normals are 3× the depth's size; above 64 MiB they are derived from the depth instead
      const wantNormals = normalAsset && normalAsset.size_bytes <= 64 * 1024 * 1024;
      const [depth, normals] = await Promise.all([
        fetchNpy(depthAsset.download_url),
        wantNormals ? fetchNpy(normalAsset.download_url).catch(() => null) : Promise.resolve(null),
      ]);
      this.depth = DepthMap.fromNpy(depth, normals);
      this.equirect.setDepthImage(this.depth.colorize(1024));
      this.depthState = "ready";
      this.marks.depthLoaded = performance.now();
    } catch (err) {
      this.depthState = "error";
      this.depthMessage = (err as Error).message;
    }
    this.renderEquirectMode();
    this.renderToolbar();
    this.needs.overlay = true;
  }

  renderStatus(): void {
    this.statusHost.replaceChildren(statusBadge(this.pano.status));
  }

  renderWorkflow(): void {
    const s = this.pano.status;
    const r = this.role;
    const buttons: HTMLElement[] = [];
    const act = (action: string, label: string, cls: string, needComment: boolean) =>
      h("button", { class: `btn ${cls}`, id: `wf-${action}`, onclick: () => this.review(action, needComment) }, label);
    if (this.canEdit && ["new", "in_progress", "rejected"].includes(s)) buttons.push(act("submit", "Submit", "btn-primary", false));
    if (["admin", "manager", "reviewer"].includes(r) && s === "submitted") buttons.push(act("approve", "Approve", "btn-success", false));
    if (["admin", "manager", "reviewer"].includes(r) && ["submitted", "approved"].includes(s)) buttons.push(act("reject", "Reject", "btn-danger", true));
    if (["admin", "manager"].includes(r) && ["submitted", "approved", "rejected"].includes(s)) buttons.push(act("reopen", "Reopen", "btn", false));
    this.workflow.replaceChildren(...buttons);
  }

  async review(action: string, needComment: boolean): Promise<void> {
    let comment = "";
    if (needComment || action === "approve") {
      const c = await askText(action === "reject" ? "Reject: what needs fixing?" : `${action[0].toUpperCase()}${action.slice(1)} — comment (optional)`, "Comment", needComment);
      if (c === null) return;
      comment = c;
    }
    if (action === "submit") await this.saver.save();
    try {
      const updated = await api<Panorama>("POST", `/api/panoramas/${this.pano.id}/${action}/`, { comment });
      this.pano = { ...this.pano, status: updated.status };
      this.renderStatus();
      this.renderWorkflow();
      void this.reviewPanel.load(updated.status);
      toast(`Panorama ${updated.status.replace("_", " ")}.`);
    } catch (err) {
      toast((err as Error).message, "error");
    }
  }

  renderSaveState(): void {
    const s = this.saver.state;
    const labels: Record<string, string> = { saved: "Saved", pending: "Unsaved changes", saving: "Saving…", offline: "Offline — retrying", conflict: "Conflict", error: "Not saved", readonly: "Read-only" };
    this.savePill.dataset.state = s;
    this.savePill.textContent = labels[s] ?? s;
    this.savePill.title = this.saver.message;
    this.renderBanner();
  }

  renderBanner(): void {
    const b = this.banner;
    const stash = this.canEdit ? readStash(this.pano.id) : null;
    if (this.saver.state === "conflict") {
      b.hidden = false;
      b.className = "banner banner-conflict";
      b.dataset.kind = "conflict";
      b.replaceChildren(
        h("strong", {}, "Someone else changed this panorama."),
        h("span", {}, " Your edits were not saved; they are kept in this browser. Load the latest version, then re-apply them."),
        h("button", { class: "btn btn-primary", id: "conflict-reload", onclick: () => this.reloadFromServer(true) }, "Load latest"),
      );
    } else if (this.saver.state === "error") {
      b.hidden = false;
      b.className = "banner banner-error";
      b.dataset.kind = "error";
      b.replaceChildren(h("strong", {}, "Not saved: "), h("span", {}, this.saver.message), h("button", { class: "btn", onclick: () => this.store.undo() }, "Undo last edit"));
    } else if (stash) {
      b.hidden = false;
      b.className = "banner banner-info";
      b.dataset.kind = "stash";
      b.replaceChildren(
        h("strong", {}, "You have edits that were not saved"),
        h("span", {}, ` (${stash.instances.length} instances, from ${new Date(stash.savedAt).toLocaleTimeString()}).`),
        h("button", { class: "btn btn-primary", id: "reapply-edits", onclick: () => this.reapplyStash() }, "Re-apply my edits"),
        h("button", { class: "btn", id: "discard-edits", onclick: () => (clearStash(this.pano.id), this.renderBanner()) }, "Discard"),
      );
    } else {
      b.hidden = true;
      b.dataset.kind = "";
    }
  }

  async reloadFromServer(keepStash: boolean): Promise<void> {
    if (keepStash && this.canEdit) this.saver.stash();
    const data = await api<InstancesResponse>("GET", `/api/panoramas/${this.pano.id}/instances/`);
    this.saver.state = this.canEdit ? "saved" : "readonly";
    this.saver.clearPending();
    this.adopt(data);
    this.renderSaveState();
    this.request();
  }

  reapplyStash(): void {
    const stash = readStash(this.pano.id);
    if (!stash) return;
    reapply(this.saver, this.store, stash);
    this.renderBanner();
    toast("Your edits were re-applied on top of the latest version.");
  }

  // ------------------------------------------------------------------ interactive box tool
  private sameView(a: ViewParams, b: ViewParams): boolean {
    return a.yaw === b.yaw && a.pitch === b.pitch && a.roll === b.roll && a.hfov === b.hfov && a.width === b.width && a.height === b.height;
  }

  startInteractive(box: [number, number, number, number]): void {
    if (!this.canEdit) return;
    this.interactive = { view: this.view().params(), box, positive: [], negative: [], result: null, busy: false, seq: 0 };
    void this.runInteractive();
  }

  addInteractivePoint(x: number, y: number, positive: boolean): void {
    const ia = this.interactive;
    if (!ia || !this.sameView(ia.view, this.view().params())) {
      toast("Drag a box around the object first (the camera moved since the last box).");
      return;
    }
    (positive ? ia.positive : ia.negative).push([x, y]);
    void this.runInteractive();
  }

  /** POST /api/prelabel/interactive/ with the view, box and clicks; the reply is a suggestion. */
  async runInteractive(): Promise<void> {
    const ia = this.interactive;
    if (!ia) return;
    const seq = ++ia.seq;
    ia.busy = true;
    this.renderBoxCard();
    this.needs.overlay = true;
    const cls = this.classes.current;
    try {
      const res = await api<{ geometry: Inst["geometry"]; score: number | null; label_class: number | null }>("POST", "/api/prelabel/interactive/", {
        panorama: this.pano.id,
        view: ia.view,
        box: ia.box,
        positive: ia.positive,
        negative: ia.negative,
        ...(cls !== null ? { label_class: cls } : {}),
      });
      if (this.interactive !== ia || ia.seq !== seq) return; // superseded
      if (!res.geometry?.length) {
        ia.result = null;
        toast("Nothing found in the box; add a positive click on the object or draw a tighter box.");
        return;
      }
      ia.result = {
        uid: "interactive",
        label_class: res.label_class ?? cls ?? this.classes.classes[0]?.id ?? 0,
        geometry: res.geometry,
        source: "model",
        is_suggestion: true,
        score: res.score ?? null,
        model_version: "interactive box",
        attributes: {},
      };
    } catch (err) {
      if (this.interactive === ia && ia.seq === seq) toast(`Box tool: ${(err as Error).message}`, "error");
    } finally {
      if (this.interactive === ia && ia.seq === seq) ia.busy = false;
      this.renderBoxCard();
      this.needs.overlay = true;
    }
  }

  /** The returned polygon joins the set as an ordinary (accepted) instance; autosave writes it. */
  acceptInteractive(): boolean {
    const res = this.interactive?.result;
    if (!res || !this.canEdit) return false;
    this.store.add({ ...res, uid: newUid(), is_suggestion: false });
    this.interactive = null;
    this.renderBoxCard();
    this.request();
    return true;
  }

  discardInteractive(): boolean {
    if (!this.interactive) return false;
    this.interactive = null;
    this.renderBoxCard();
    this.request();
    return true;
  }

  renderBoxCard(): void {
    const ia = this.interactive;
    const card = this.boxCard;
    card.hidden = !ia;
    if (!ia) return;
    const r = ia.result;
    card.dataset.state = ia.busy ? "busy" : r ? "ready" : "empty";
    card.replaceChildren(
      h("strong", {}, ia.busy ? "Segmenting…" : r ? `Suggestion${r.score != null ? ` ${Math.round(r.score * 100)}%` : ""}` : "No suggestion"),
      h("span", { class: "muted" }, `+${ia.positive.length} / −${ia.negative.length} clicks · click: add, Shift/right-click: remove`),
      h("button", { class: "btn btn-small btn-success", id: "box-accept", disabled: !r || ia.busy, onclick: () => this.acceptInteractive() }, "Accept ↵"),
      h("button", { class: "btn btn-small", id: "box-discard", onclick: () => this.discardInteractive() }, "Discard Esc"),
    );
  }

  /** Wait until the local set is on the server; false when it cannot be (conflict, error…). */
  async flushSaves(timeoutMs = 15000): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      const st = this.saver.state;
      if (st === "conflict" || st === "error" || st === "readonly") return false;
      if (!this.saver.dirty() && st !== "saving" && st !== "pending") return true;
      await this.saver.save();
      await new Promise((r) => window.setTimeout(r, 80));
    }
    return false;
  }

  /**
   * Accept or reject model suggestions on the server (POST /api/prelabel/suggestions/accept|reject/,
   * revision-checked, see docs/prelabel.md). Local edits are saved first so the decision is based
   * on the current revision; afterwards the server's set is adopted. A 409 (someone else saved in
   * between) loads the latest set and asks to decide again — there are no local edits to lose.
   */
  async decideSuggestions(action: "accept" | "reject", opts: { insts?: Inst[]; minScore?: number }): Promise<void> {
    if (!this.canEdit || this.instancesPanel.busy) return;
    const panel = this.instancesPanel;
    panel.busy = true;
    panel.render();
    try {
      if (!(await this.flushSaves())) {
        toast("Your edits are not saved yet (see the banner); decide on suggestions after that.", "error");
        return;
      }
      const body: Record<string, unknown> = { panorama: this.pano.id, revision: this.saver.revision };
      if (opts.insts) {
        const ids = opts.insts.map((i) => this.saver.serverIds.get(i.uid)).filter((id): id is number => id !== undefined);
        if (!ids.length) return;
        body.ids = ids;
      } else body.min_score = opts.minScore ?? 0;
      const result = await api<{ accepted?: number[]; rejected?: number[]; revision: number }>("POST", `/api/prelabel/suggestions/${action}/`, body);
      const n = (action === "accept" ? result.accepted : result.rejected)?.length ?? 0;
      await this.reloadFromServer(false);
      toast(`${n} suggestion${n === 1 ? "" : "s"} ${action === "accept" ? "accepted" : "rejected"}.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await this.reloadFromServer(false);
        toast("Someone else changed this panorama meanwhile; the latest version is loaded — please decide again.", "error");
      } else toast((err as Error).message, "error");
    } finally {
      panel.busy = false;
      panel.render();
    }
  }

  /** Run fn; until the first frame, add its duration to marks[name + "Ms"] (profiling the load). */
  timed<T>(name: string, fn: () => T): T {
    if (this.firstFrameAt !== null) return fn();
    const t = performance.now();
    try {
      return fn();
    } finally {
      const key = `${name}Ms`;
      this.marks[key] = (this.marks[key] ?? 0) + performance.now() - t;
    }
  }

  /** Re-render the side panels at the next frame (coalesced; after the first frame). */
  refreshPanels(): void {
    this.needs.panels = true;
  }

  private renderPanels(): void {
    const counts = new Map<number, number>();
    for (const i of this.store.instances) counts.set(i.label_class, (counts.get(i.label_class) ?? 0) + 1);
    this.classes.counts = counts;
    this.classes.render();
    this.instancesPanel.render();
    this.renderToolbar();
  }

  // ------------------------------------------------------------------ imagery
  async loadImagery(previewP: Promise<HTMLImageElement>): Promise<void> {
    const p = this.pano;
    // a fast preview first (also feeds the equirect and cubemap viewers), then full-resolution tiles
    try {
      this.marks.previewStart = performance.now();
      const preview = await previewP; // decoded and uploaded (workspacePage)
      this.equirect.setImage(preview);
      this.cubemap.setImage(preview);
      this.request(true);
    } catch (err) {
      this.previewFailed = true;
      toast(`Could not load the panorama preview: ${(err as Error).message}`, "error");
    }
    if (p.width <= 2048 || !this.renderer) return;
    // full-resolution tiles only after the first frame is on screen (uploads block the main thread)
    await this.afterFirstFrame();
    // …and after the overlays and panels have had their frame (a 4096² upload stalls software GL)
    await new Promise<void>((resolve) => {
      const wait = () => (document.body.dataset.ready === "1" && !this.needs.panels && !this.needs.overlay && this.firstFramePresentedAt !== null ? resolve() : window.setTimeout(wait, 30));
      wait();
    });
    this.marks.tilesStart = performance.now();
    const { cols, rows, size, url_template } = p.tiles;
    const jobs: Promise<void>[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const url = url_template.replace("{col}", String(c)).replace("{row}", String(r));
        jobs.push(
          loadImage(url).then((img) => {
            const rect: [number, number, number, number] = [(c * size) / p.width, (r * size) / p.height, img.naturalWidth / p.width, img.naturalHeight / p.height];
            this.renderer!.addTile(img, rect, 0);
            this.tilesLoaded += 1;
          }),
        );
      }
    }
    try {
      await Promise.all(jobs);
      this.renderer.dropLevel(1);
      this.request();
    } catch (err) {
      toast(`Some full-resolution tiles failed to load: ${(err as Error).message}`, "error");
    }
  }

  // ------------------------------------------------------------------ camera
  view(): View {
    return this.camera.view(this.viewW || 1, this.viewH || 1);
  }

  look(dx: number, dy: number): void {
    if (this.camera.mode !== "nfov") return;
    const degPerPx = this.view().hfov / Math.max(1, this.viewW);
    this.camera.setLook(this.camera.yaw - dx * degPerPx, this.camera.pitch + dy * degPerPx);
    this.request();
  }

  zoom(factor: number): void {
    if (this.camera.mode !== "nfov") return;
    this.camera.setFov(this.camera.hfov * factor);
    this.request();
  }

  lookAt(lon: number, lat: number): void {
    if (this.camera.mode === "cubemap") {
      const face = faceFromLonLat(lon, lat);
      this.setFace(face);
      return;
    }
    this.camera.setLook(lon, lat);
    this.request();
  }

  focusInstance(inst: Inst): void {
    const [clon, clat] = centreOf(inst);
    this.lookAt(clon, clat);
  }

  setMode(mode: "nfov" | "cubemap"): void {
    this.camera.mode = mode;
    if (mode === "cubemap") this.camera.face = faceFromLonLat(this.camera.yaw, this.camera.pitch);
    this.cubemap.current = this.camera.face;
    this.interaction.cancel();
    this.renderToolbar();
    this.request(true);
  }

  setFace(face: number): void {
    if (this.camera.mode !== "cubemap") this.camera.mode = "cubemap";
    this.camera.face = face;
    this.cubemap.current = face;
    this.renderToolbar();
    this.request(true);
  }

  setTool(tool: Tool): void {
    this.interaction.setTool(tool);
    this.renderToolbar();
  }

  startAddPart(): void {
    if (!this.store.selected) return;
    this.interaction.setTool("draw");
    this.interaction.addPart = true;
    this.renderToolbar();
    toast("Draw the new part; it joins the selected instance.");
  }

  // ------------------------------------------------------------------ keys
  onKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const it = this.interaction;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key;
    if (mod && (key === "z" || key === "Z")) {
      e.preventDefault();
      if (!this.canEdit) return;
      if (e.shiftKey) this.store.redo();
      else this.store.undo();
      return;
    }
    if (mod && (key === "y" || key === "Y")) {
      e.preventDefault();
      if (this.canEdit) this.store.redo();
      return;
    }
    if (mod) return;
    switch (key) {
      case "Enter":
        if (!it.draft.length && this.acceptInteractive()) break;
        it.finish();
        break;
      case "Escape":
        if (!it.draft.length && this.discardInteractive()) break;
        if (it.draft.length) it.cancel();
        else this.store.select(null);
        this.renderToolbar();
        break;
      case "Backspace":
        e.preventDefault();
        if (!it.removeLastDraftVertex()) it.deleteSelection();
        break;
      case "Delete":
        it.deleteSelection();
        break;
      case "d":
      case "D":
        if (this.canEdit) this.setTool("draw");
        break;
      case "e":
      case "E":
        if (this.canEdit) this.setTool("edit");
        break;
      case "v":
      case "V":
        this.setTool("pan");
        break;
      case "b":
      case "B":
        if (this.canEdit) this.setTool("box");
        break;
      case "a":
      case "A":
        if (this.canEdit) this.startAddPart();
        break;
      case "c":
      case "C":
        this.setMode("cubemap");
        break;
      case "n":
      case "N":
        this.setMode("nfov");
        break;
      case "s":
      case "S":
        this.toggleSurfaceCursor();
        break;
      case "h":
      case "H":
        if (this.store.selected) this.store.toggleHidden(this.store.selected);
        break;
      case "+":
      case "=":
        this.zoom(1 / 1.15);
        break;
      case "-":
        this.zoom(1.15);
        break;
      case "ArrowLeft":
        this.look(40, 0);
        break;
      case "ArrowRight":
        this.look(-40, 0);
        break;
      case "ArrowUp":
        this.look(0, 40);
        break;
      case "ArrowDown":
        this.look(0, -40);
        break;
      case "[":
        void this.navigate(-1);
        break;
      case "]":
        void this.navigate(1);
        break;
      case "?":
        helpOverlay();
        break;
      default:
        if (/^[1-9]$/.test(key)) {
          const cls = this.classes.classes[Number(key) - 1];
          if (!cls) break;
          if (this.store.selected && this.canEdit && !it.draft.length) this.store.update(this.store.selected, { label_class: cls.id });
          this.classes.select(cls.id);
        }
    }
  }

  async navigate(delta: number): Promise<void> {
    const query = sessionStorage.getItem(`label360:nav:${this.pano.project}`) || "";
    try {
      const list = await apiAll<{ id: number }>(`/api/panoramas/?project=${this.pano.project}&page_size=1000${query ? `&${query}` : ""}`);
      let i = list.findIndex((p) => p.id === this.pano.id);
      if (i < 0) i = delta > 0 ? -1 : list.length;
      const target = list[i + delta];
      if (!target) {
        toast(delta > 0 ? "This is the last panorama of the list." : "This is the first panorama of the list.");
        return;
      }
      await this.saver.save();
      window.location.href = `/panoramas/${target.id}/`;
    } catch (err) {
      toast((err as Error).message, "error");
    }
  }

  // ------------------------------------------------------------------ rendering
  request(resize = false): void {
    this.needs.gl = true;
    this.needs.overlay = true;
    if (resize) this.needs.side = true;
  }

  private resize(): void {
    const rect = this.stage.getBoundingClientRect();
    let w = Math.floor(rect.width);
    let hgt = Math.floor(rect.height);
    if (this.camera.mode === "cubemap") {
      const s = Math.min(w, hgt) - 16;
      w = s;
      hgt = s;
    }
    w = Math.max(w, 16);
    hgt = Math.max(hgt, 16);
    if (w === this.viewW && hgt === this.viewH) return;
    this.viewW = w;
    this.viewH = hgt;
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.glCanvas, this.overlay]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${hgt}px`;
    }
    this.needs.gl = true;
    this.needs.overlay = true;
  }

  private loop(): void {
    const frame = () => {
      const start = performance.now();
      this.resize();
      const drew = this.needs.gl || this.needs.overlay;
      const view = this.view();
      if (this.firstFrameAt !== null && this.firstFramePresentedAt === null) this.firstFramePresentedAt = start;
      let firstNow = false;
      if (this.needs.gl && this.renderer) {
        this.timed("glDraw", () => this.renderer!.draw(new View({ ...view.params(), width: this.glCanvas.width, height: this.glCanvas.height })));
        if (this.renderer.hasTiles() && this.firstFrameAt === null) {
          this.firstFrameAt = performance.now(); // since navigation start
          document.body.dataset.firstFrame = "1";
          firstNow = true;
        }
        this.needs.gl = false;
      }
      // the frame with the first imagery carries nothing else; overlays, viewers and panels follow
      const early = firstNow || (this.firstFrameAt === null && !!this.renderer && !this.previewFailed);
      if (this.needs.panels && !early) {
        this.timed("panels", () => this.renderPanels());
        this.needs.panels = false;
      }
      if (this.needs.overlay && !early) {
        this.timed("overlay", () => this.drawOverlay(view));
        this.drawHud(view);
        this.equirect.resize();
        this.timed("equirect", () => this.equirect.draw(this.store.instances, this.classes.colors(), this.store.hidden, this.store.selected, view));
        this.needs.overlay = false;
      }
      if (this.needs.side && !early) {
        this.cubeHost.hidden = this.camera.mode !== "cubemap";
        if (this.camera.mode === "cubemap") this.cubemap.draw(this.store.instances, this.classes.colors(), this.store.hidden, this.store.selected);
        this.needs.side = false;
      }
      if (drew) {
        this.frameTimes.push(performance.now() - start);
        if (this.frameTimes.length > 600) this.frameTimes.shift();
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  private drawOverlay(view: View): void {
    const ctx = this.overlay.getContext("2d")!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, view.width, view.height);
    const it = this.interaction;
    let instances = this.store.instances;
    if (it.preview) {
      const pv = it.preview;
      instances = instances.map((i) => (i.uid === pv.uid ? { ...i, geometry: pv.geometry } : i));
    }
    const colors = this.classes.colors();
    const ia = this.interactive;
    if (ia?.result) instances = [...instances, ia.result];
    drawInstances(ctx, view, instances, { colors, selected: this.store.selected, selectedVertex: this.store.selectedVertex, hidden: this.store.hidden, fillAlpha: 0.28 });
    const sel = this.store.selected ? instances.find((i) => i.uid === this.store.selected) : undefined;
    if (sel && it.tool === "edit" && !this.store.hidden.has(sel.uid)) drawHandles(ctx, view, sel, this.store.selectedVertex);
    if (this.camera.mode === "cubemap") {
      // the 90° face square inside the expanded FOV; the margin is dimmed but drawable
      const half = view.focal; // tan(45°) · f
      const cx = view.width / 2;
      const cy = view.height / 2;
      ctx.fillStyle = "rgba(10,12,16,0.35)";
      ctx.beginPath();
      ctx.rect(0, 0, view.width, view.height);
      ctx.rect(cx - half, cy - half, 2 * half, 2 * half);
      ctx.fill("evenodd");
      ctx.strokeStyle = "#ffd43b";
      ctx.lineWidth = 1.5;
      ctx.setLineDash([8, 5]);
      ctx.strokeRect(cx - half, cy - half, 2 * half, 2 * half);
      ctx.setLineDash([]);
    }
    if (it.boxDrag) drawBox(ctx, it.boxDrag, "#ffd43b");
    if (ia && this.sameView(ia.view, view.params())) {
      drawBox(ctx, ia.box, ia.busy ? "#8ab4ff" : "#ffd43b");
      for (const [pts, color, sign] of [[ia.positive, "#2fbf71", "+"], [ia.negative, "#e5484d", "−"]] as const) {
        for (const [x, y] of pts) {
          ctx.fillStyle = color;
          ctx.beginPath();
          ctx.arc(x, y, 6, 0, 2 * Math.PI);
          ctx.fill();
          ctx.fillStyle = "#fff";
          ctx.font = "bold 11px sans-serif";
          ctx.textAlign = "center";
          ctx.textBaseline = "middle";
          ctx.fillText(sign, x, y + 0.5);
        }
      }
    }
    this.lastCursor = null;
    if (this.depth && this.surfaceCursorOn && it.hover) {
      const c = surfaceCursor(view, this.depth, it.hover[0], it.hover[1]);
      if (c) {
        drawSurfaceCursor(ctx, c);
        this.lastCursor = c;
      }
    }
    if (it.draft.length) {
      const cls = this.classes.byId(this.classes.current ?? -1);
      drawDraft(ctx, view, { points: it.draft, cursor: it.cursor, color: cls?.color ?? "#ffd43b" });
    }
  }

  private depthHud(): HTMLElement[] {
    const c = this.lastCursor;
    return c ? [h("span", { class: "hud-item", id: "hud-depth", title: "Distance of the surface under the cursor (depth map units)" }, `surface ${c.distance.toFixed(2)}`)] : [];
  }

  private drawHud(view: View): void {
    const c = this.camera;
    if (c.mode === "cubemap") {
      this.hud.replaceChildren(
        h("span", { class: "hud-item" }, h("b", {}, `Face ${FACE_NAMES[c.face]}`)),
        h("span", { class: "hud-item" }, `FOV ${c.faceFov.toFixed(0)}° (face 90° outlined)`),
        ...this.depthHud(),
      );
      return;
    }
    const [lon, lat] = vecToLonlat(view.toWorld([0, 0, 1]));
    const needle = h("span", { class: "compass-needle", style: { transform: `rotate(${c.yaw}deg)` } });
    this.hud.replaceChildren(
      h("span", { class: "compass", title: "Heading (yaw)" }, h("span", { class: "compass-n" }, "N"), needle),
      h("span", { class: "hud-item", id: "hud-heading" }, h("b", {}, `${c.yaw.toFixed(1)}° ${heading(c.yaw)}`)),
      h("span", { class: "hud-item" }, `pitch ${c.pitch.toFixed(1)}°`),
      h("span", { class: "hud-item" }, `FOV ${c.hfov.toFixed(0)}°`),
      h("span", { class: "hud-item muted" }, `centre ${lon.toFixed(1)}°, ${lat.toFixed(1)}°`),
      ...this.depthHud(),
    );
  }

  // ------------------------------------------------------------------ test hook
  private installHook(): void {
    const self = this;
    (window as any).label360 = {
      workspace: this,
      setCamera(p: { yaw?: number; pitch?: number; hfov?: number }) {
        self.setMode("nfov");
        self.camera.setLook(p.yaw ?? self.camera.yaw, p.pitch ?? self.camera.pitch);
        if (p.hfov !== undefined) self.camera.setFov(p.hfov);
        self.request();
      },
      setFace(face: number) {
        self.setFace(face);
      },
      view() {
        return self.view().params();
      },
      state() {
        return {
          save: self.saver.state,
          revision: self.saver.revision,
          instances: self.store.instances,
          selected: self.store.selected,
          tool: self.interaction.tool,
          draft: self.interaction.draft,
          framesDrawn: self.renderer?.framesDrawn ?? 0,
          firstFrameMs: self.firstFrameAt,
          firstFramePresentedMs: self.firstFramePresentedAt,
          marks: { start: self.t0, ...self.marks },
          tilesLoaded: self.tilesLoaded,
          mode: self.camera.mode,
          depth: self.depthState,
          equirectMode: self.equirect.mode,
          review: self.reviewPanel.loaded ? self.reviewPanel.events.length : null,
          interactive: self.interactive ? { busy: self.interactive.busy, result: self.interactive.result, box: self.interactive.box } : null,
        };
      },
      surfaceCursor() {
        const c = self.lastCursor;
        return c ? { centre: c.centre, major: c.major, minor: c.minor, distance: c.distance, normal: c.normal, radius: c.radius } : null;
      },
      frameTimes() {
        return self.frameTimes.slice();
      },
      saveNow() {
        return self.saver.save();
      },
    };
  }
}

function drawBox(ctx: CanvasRenderingContext2D, b: [number, number, number, number], color: string): void {
  ctx.save();
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgba(0,0,0,0.5)";
  ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = color;
  ctx.setLineDash([6, 4]);
  ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  ctx.restore();
}

function faceFromLonLat(lon: number, lat: number): number {
  return faceOf(lonlatToVec(lon, lat));
}

function centreOf(inst: Inst): [number, number] {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const [lon, lat] of inst.geometry[0][0]) {
    const a = (lon * Math.PI) / 180;
    const b = (lat * Math.PI) / 180;
    x += Math.cos(b) * Math.sin(a);
    y += Math.sin(b);
    z += Math.cos(b) * Math.cos(a);
  }
  return vecToLonlat([x, y, z]);
}

async function logout(): Promise<void> {
  signOut();
}
