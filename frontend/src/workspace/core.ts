/**
 * The annotation workspace's state: instance store, camera, saver, panels, viewers and render flags.
 * Behaviour lives in the sibling modules (layout, camera, keys, render, imagery, depth, saving,
 * suggestions, hook); the methods here delegate to them so the object keeps one interface.
 */
import { Camera } from "../ui/camera";
import { ClassPanel } from "../ui/classes";
import { CubemapViewer } from "../ui/cubemap";
import { toast } from "../ui/dom";
import { EquirectViewer } from "../ui/equirect";
import { InstancePanel } from "../ui/instances";
import { Interaction, type Tool } from "../ui/interaction";
import { PanoramaRenderer } from "../render/panorama_gl";
import { Saver, readPending, restorePending, sameContent, writeStash } from "../saver";
import { Inst, Store } from "../store";
import type { View, ViewParams } from "../sphere";
import type { Panorama, Project, InstancesResponse, LabelClass } from "../types";
import { DepthMap, SurfaceCursor } from "../render/depth";
import { ReviewPanel } from "../ui/review";
import { layout, renderToolbar, renderStatus } from "./layout";
import { loadDepth, renderEquirectMode, setEquirectMode, toggleSurfaceCursor, depthHud } from "./depth";
import { renderSaveState, renderBanner, reloadFromServer, reapplyStash, flushSaves, renderWorkflow, review, setEditable, refreshEditability } from "./saving";
import { sameView, startInteractive, addInteractivePoint, runInteractive, acceptInteractive, discardInteractive, renderBoxCard, decideSuggestions } from "./suggestions";
import { look, zoom, lookAt, focusInstance, fitInstance, setMode, setFace, setTool, startAddPart } from "./camera";
import { onKey, navigate } from "./keys";
import { afterFirstFrame, loadImagery } from "./imagery";
import { loadDerived } from "./derived";
import { resize, loop, renderPanels, drawOverlay, drawHud } from "./render";
import { installHook } from "./hook";
import { ActivityClock } from "./activity";

export interface Ctx {
  panoramaId: number;
  /** From the page (data-project): lets the project and classes load in parallel. */
  projectId?: number | null;
  username: string;
}

export class Workspace {
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
  // depth
  depth: DepthMap | null = null;
  depthState: "none" | "loading" | "ready" | "error" = "none";
  depthMessage = "";
  surfaceCursorOn = true;
  lastCursor: SurfaceCursor | null = null;
  // interactive box tool: the request and its returned polygon, not yet in the set
  interactive: {
    view: ViewParams;
    box: [number, number, number, number];
    positive: [number, number][];
    negative: [number, number][];
    result: Inst | null;
    /** which method answered (prompt model / GrabCut and its prior) */
    backend?: string;
    busy: boolean;
    seq: number;
  } | null = null;
  boxCard!: HTMLElement;
  // render state
  needs = { gl: true, overlay: true, side: true, panels: false };
  previewFailed = false;
  /** The next animation frame after the first frame was submitted (it has been presented). */
  firstFramePresentedAt: number | null = null;
  viewW = 0;
  viewH = 0;
  frameTimes: number[] = [];
  firstFrameAt: number | null = null;
  tilesLoaded = 0;
  marks: Record<string, number> = {};
  /** Active annotation time on this panorama (viewers are not timed). */
  activity: ActivityClock | null = null;

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
    // the server says whether the role and the workflow state allow editing now
    this.canEdit = pano.can_edit ?? (["admin", "manager", "reviewer"].includes(this.role) || (this.role === "annotator" && pano.assignees.includes(ctx.username)));
    this.saver = new Saver(this.store, pano.id, this.canEdit);
    this.classes = new ClassPanel(pano.project, ["admin", "manager"].includes(this.role));
    this.instancesPanel = new InstancePanel(this.store, this.classes, this.canEdit);
    this.reviewPanel = new ReviewPanel(pano.id);
    this.camera.faceFov = project.default_fov || 100;
  }

  async start(dataP: Promise<InstancesResponse>, classesP: Promise<LabelClass[]>, preview: Promise<HTMLImageElement>): Promise<void> {
    this.timed("layout", () => this.layout());
    if (this.role !== "viewer") this.activity = new ActivityClock(this.pano.id);
    // imagery first: the first frame needs only the preview and the layout
    this.installHook();
    void this.loadImagery(preview);
    this.loop();
    this.store.on((kind) => {
      // the selection is drawn over the cached instance layer: only edits redraw the layer
      if (kind !== "selection") this.equirect.invalidate();
      this.needs.overlay = true;
      this.needs.side = true;
      this.refreshPanels();
    });
    this.saver.onChange((state) => {
      this.renderSaveState();
      // a save refused by the workflow state: ask who may edit now, and turn read-only
      if (state === "locked") void this.refreshEditability();
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
      void loadDerived(this);
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
    const pending = readPending(this.pano.id);
    if (pending && !this.canEdit) {
      // read-only now (the panorama was submitted or approved meanwhile): keep them for later
      if (!sameContent(pending.instances, this.store.instances)) writeStash(pending);
      this.saver.clearPending();
    } else if (pending) {
      if (sameContent(pending.instances, this.store.instances)) this.saver.clearPending();
      else if (pending.baseRevision === this.saver.revision) {
        restorePending(this.saver, this.store, pending);
        toast("Restored edits that had not reached the server; saving them now.");
      } else {
        // based on an older revision: keep them as a stash the user can re-apply
        writeStash(pending);
        this.saver.clearPending();
      }
    }
    if (this.saver.state === "saved") this.saver.set("saved"); // "stashed" while a stash waits
    this.renderBanner();
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




  view(): View {
    return this.camera.view(this.viewW || 1, this.viewH || 1);
  }












  request(resize = false): void {
    this.needs.gl = true;
    this.needs.overlay = true;
    if (resize) this.needs.side = true;
  }
  layout(): void {
    layout(this);
  }
  renderToolbar(): void {
    renderToolbar(this);
  }
  toggleSurfaceCursor(): void {
    toggleSurfaceCursor(this);
  }
  renderEquirectMode(): void {
    renderEquirectMode(this);
  }
  setEquirectMode(mode: "color" | "depth"): void {
    setEquirectMode(this, mode);
  }
  afterFirstFrame(): Promise<void> {
    return afterFirstFrame(this);
  }
  loadDepth(): Promise<void> {
    return loadDepth(this);
  }
  renderStatus(): void {
    renderStatus(this);
  }
  renderWorkflow(): void {
    renderWorkflow(this);
  }
  review(action: string, needComment: boolean): Promise<void> {
    return review(this, action, needComment);
  }
  renderSaveState(): void {
    renderSaveState(this);
  }
  renderBanner(): void {
    renderBanner(this);
  }
  reloadFromServer(keepStash: boolean): Promise<void> {
    return reloadFromServer(this, keepStash);
  }
  reapplyStash(): Promise<void> {
    return reapplyStash(this);
  }
  setEditable(canEdit: boolean): void {
    setEditable(this, canEdit);
  }
  refreshEditability(): Promise<void> {
    return refreshEditability(this);
  }
  sameView(a: ViewParams, b: ViewParams): boolean {
    return sameView(this, a, b);
  }
  startInteractive(box: [number, number, number, number]): void {
    startInteractive(this, box);
  }
  addInteractivePoint(x: number, y: number, positive: boolean): void {
    addInteractivePoint(this, x, y, positive);
  }
  runInteractive(): Promise<void> {
    return runInteractive(this);
  }
  acceptInteractive(): boolean {
    return acceptInteractive(this);
  }
  discardInteractive(): boolean {
    return discardInteractive(this);
  }
  renderBoxCard(): void {
    renderBoxCard(this);
  }
  flushSaves(timeoutMs = 15000): Promise<boolean> {
    return flushSaves(this, timeoutMs);
  }
  decideSuggestions(action: "accept" | "reject", opts: { insts?: Inst[]; minScore?: number }): Promise<void> {
    return decideSuggestions(this, action, opts);
  }
  renderPanels(): void {
    renderPanels(this);
  }
  loadImagery(previewP: Promise<HTMLImageElement>): Promise<void> {
    return loadImagery(this, previewP);
  }
  look(dx: number, dy: number): void {
    look(this, dx, dy);
  }
  zoom(factor: number): void {
    zoom(this, factor);
  }
  lookAt(lon: number, lat: number): void {
    lookAt(this, lon, lat);
  }
  focusInstance(inst: Inst): void {
    focusInstance(this, inst);
  }
  fitInstance(inst: Inst): void {
    fitInstance(this, inst);
  }
  setMode(mode: "nfov" | "cubemap"): void {
    setMode(this, mode);
  }
  setFace(face: number): void {
    setFace(this, face);
  }
  setTool(tool: Tool): void {
    setTool(this, tool);
  }
  startAddPart(): void {
    startAddPart(this);
  }
  onKey(e: KeyboardEvent): void {
    onKey(this, e);
  }
  navigate(delta: number): Promise<void> {
    return navigate(this, delta);
  }
  resize(): void {
    resize(this);
  }
  loop(): void {
    loop(this);
  }
  drawOverlay(view: View): void {
    drawOverlay(this, view);
  }
  depthHud(): HTMLElement[] {
    return depthHud(this);
  }
  drawHud(view: View): void {
    drawHud(this, view);
  }
  installHook(): void {
    installHook(this);
  }
}
