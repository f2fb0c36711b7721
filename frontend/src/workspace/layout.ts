/** Page layout: the top bar, stage, sidebar and viewers are built and wired to the workspace; toolbar, status badge and equirect mode switch rendering. */
import { h, signOut, statusBadge, toast } from "../ui/dom";
import { EquirectViewer } from "../ui/equirect";
import { CubemapViewer } from "../ui/cubemap";
import { Interaction } from "../ui/interaction";
import { helpOverlay } from "../ui/help";
import { themeToggle } from "../ui/theme";
import type { Workspace } from "./core";
import { loadProvenance } from "./suggestions";

export function layout(ws: Workspace): void {
  const p = ws.pano;
  ws.savePill = h("span", { class: "save-pill", id: "save-state", "data-state": "saved" }, "Saved");
  ws.workflow = h("span", { class: "workflow" });
  ws.statusHost = h("span", {});
  const prev = h("button", { class: "btn btn-ghost", id: "prev-pano", title: "Previous panorama ([)", onclick: () => ws.navigate(-1) }, "‹ Prev");
  const next = h("button", { class: "btn btn-ghost", id: "next-pano", title: "Next panorama (])", onclick: () => ws.navigate(1) }, "Next ›");
  const header = h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/" }, h("span", { class: "brand-mark" }, "◐"), "Label360"),
    h("nav", { class: "crumbs" },
      h("a", { href: "/" }, "Projects"), h("span", { class: "sep" }, "/"),
      h("a", { href: `/projects/${p.project}/` }, ws.project.name), h("span", { class: "sep" }, "/"),
      h("span", { class: "crumb-current", title: p.original_name }, p.original_name)),
    ws.statusHost,
    h("span", { class: "spacer" }),
    prev, next, ws.savePill, ws.workflow,
    themeToggle(),
    h("span", { class: "user" }, `${ws.ctx.username} · ${ws.role}`),
    h("a", { class: "btn btn-ghost", href: "/accounts/logout/", onclick: (e: Event) => (e.preventDefault(), logout()) }, "Sign out"));

  ws.overlay = h("canvas", { class: "overlay-canvas", id: "draw-canvas", tabindex: 0 });
  ws.hud = h("div", { class: "hud", id: "hud" });
  ws.banner = h("div", { class: "banner", id: "banner", hidden: true });
  ws.boxCard = h("div", { class: "box-card", id: "box-suggestion", hidden: true });
  const stageInner = h("div", { class: "stage-inner" }, ws.glCanvas, ws.overlay);
  ws.stage = h("div", { class: "stage", id: "stage" }, stageInner, ws.hud, ws.banner, ws.boxCard);

  ws.toolbar = h("nav", { class: "toolbar", id: "toolbar" });
  const side = h("aside", { class: "sidebar" });
  ws.eqModeHost = h("span", { class: "seg", id: "equirect-mode" });
  const enlarge = h("button", { class: "icon-btn", id: "equirect-enlarge", title: "Enlarge the viewer (Esc: back)", onclick: () => toggleEnlarged(ws, eqHost, enlarge) }, "⤢");
  const eqHost = h("section", { class: "panel viewer-panel", id: "equirect-panel" }, h("header", { class: "panel-head" }, h("h2", { title: "Equirectangular" }, "Equirectangular"), h("span", { class: "muted small", title: "Image size in pixels" }, `${p.width}×${p.height}`), ws.eqModeHost, enlarge));
  const eqCanvasHost = h("div", { class: "equirect-host", id: "equirect" });
  ws.depthLegend = h("div", { class: "depth-legend", id: "depth-legend", hidden: true }, h("span", {}, "near"), h("i", { class: "depth-ramp" }), h("span", {}, "far"));
  eqHost.append(eqCanvasHost, ws.depthLegend);
  ws.cubeHost = h("section", { class: "panel viewer-panel", id: "cubemap-panel" }, h("header", { class: "panel-head" }, h("h2", {}, "Cubemap"), h("span", { class: "legend" }, h("i", { class: "lg lg-yellow" }), "current ", h("i", { class: "lg lg-green" }), "annotated ", h("i", { class: "lg lg-red" }), "empty")));
  const cubeCanvasHost = h("div", { class: "cubemap-host", id: "cubemap" });
  ws.cubeHost.appendChild(cubeCanvasHost);
  side.append(eqHost, ws.cubeHost, ws.classes.el, ws.reviewPanel.el, ws.instancesPanel.el);

  const main = h("div", { class: "workspace" }, ws.toolbar, ws.stage, side);
  ws.root.replaceChildren(header, main);
  document.body.classList.add("page-workspace");

  ws.equirect = new EquirectViewer(eqCanvasHost);
  ws.equirect.onPick = (lon, lat) => ws.lookAt(lon, lat);
  ws.cubemap = new CubemapViewer(cubeCanvasHost);
  ws.cubemap.onPick = (face) => ws.setFace(face);

  if (ws.renderer) ws.renderer.onTextures = () => ws.request();
  else toast(`WebGL unavailable: ${ws.glError}`, "error");
  ws.interaction = new Interaction(ws.overlay, {
    view: () => ws.view(),
    store: ws.store,
    get canEdit() {
      return ws.canEdit; // changes with the workflow state
    },
    currentClass: () => ws.classes.current,
    look: (dx, dy) => ws.look(dx, dy),
    zoom: (f) => ws.zoom(f),
    request: () => ws.request(),
    requestOverlay: () => {
      ws.needs.overlay = true;
    },
    isNfov: () => ws.camera.mode === "nfov",
    onBox: (box) => ws.startInteractive(box),
    onBoxPoint: (x, y, positive) => ws.addInteractivePoint(x, y, positive),
    notify: (message) => toast(message, "error"),
  });
  ws.interaction.setTool(ws.canEdit ? "draw" : "pan");
  ws.instancesPanel.onFocus = (inst) => ws.focusInstance(inst);
  ws.instancesPanel.onFit = (inst) => ws.fitInstance(inst);
  ws.classes.onHideClass = (cls, hide) => ws.store.setClassHidden(cls.id, hide);
  ws.instancesPanel.onDecide = (action, insts) => void ws.decideSuggestions(action, { insts });
  ws.instancesPanel.onAcceptAbove = (minScore) => void ws.decideSuggestions("accept", { minScore });
  ws.instancesPanel.onProvenance = () => void loadProvenance(ws);
  ws.renderToolbar();
  ws.renderStatus();
  ws.renderWorkflow();
  ws.renderEquirectMode();
  document.addEventListener("keydown", (e) => ws.onKey(e));
}

/** The equirect viewer enlarged over the page (and back); the canvas follows its new width. */
function toggleEnlarged(ws: Workspace, panel: HTMLElement, button: HTMLElement): void {
  const on = panel.classList.toggle("enlarged");
  button.textContent = on ? "⤡" : "⤢";
  button.title = on ? "Back to the sidebar (Esc)" : "Enlarge the viewer (Esc: back)";
  if (on) {
    const back = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || !panel.classList.contains("enlarged")) return;
      e.stopPropagation();
      toggleEnlarged(ws, panel, button);
      document.removeEventListener("keydown", back, true);
    };
    document.addEventListener("keydown", back, true);
  }
  ws.equirect.invalidate();
  ws.needs.overlay = true;
}

export function renderToolbar(ws: Workspace): void {
  const it = ws.interaction;
  const tb = (id: string, icon: string, label: string, key: string, on: () => void, active = false, disabled = false) =>
    h("button", { class: `tool${active ? " active" : ""}`, id, title: `${label} (${key})`, disabled, onclick: () => (on(), ws.overlay.focus()) },
      h("span", { class: "tool-icon" }, icon), h("span", { class: "tool-label" }, label));
  const ro = !ws.canEdit;
  ws.toolbar.replaceChildren(
    tb("tool-draw", "✎", "Draw", "D", () => ws.setTool("draw"), it.tool === "draw", ro),
    tb("tool-edit", "⬚", "Edit", "E", () => ws.setTool("edit"), it.tool === "edit", ro),
    tb("tool-pan", "✥", "Pan", "V", () => ws.setTool("pan"), it.tool === "pan"),
    tb("tool-rect", "▭", "Rectangle", "R", () => ws.setTool("rect"), it.tool === "rect", ro),
    tb("tool-ellipse", "◯", "Ellipse", "O", () => ws.setTool("ellipse"), it.tool === "ellipse", ro),
    tb("tool-box", "⊡", "Box AI", "B", () => ws.setTool("box"), it.tool === "box", ro),
    h("hr"),
    tb("tool-part", "⊕", "Add part", "A", () => ws.startAddPart(), it.addPart, ro || !ws.store.selected),
    tb("tool-undo", "↶", "Undo", "Ctrl+Z", () => ws.store.undo(), false, ro || !ws.store.canUndo()),
    tb("tool-redo", "↷", "Redo", "Ctrl+Shift+Z", () => ws.store.redo(), false, ro || !ws.store.canRedo()),
    tb("tool-delete", "✕", "Delete", "Del", () => it.deleteSelection(), false, ro || !ws.store.selected),
    h("hr"),
    tb("mode-nfov", "◎", "NFOV", "N", () => ws.setMode("nfov"), ws.camera.mode === "nfov"),
    tb("mode-cubemap", "⬒", "Cubemap", "C", () => ws.setMode("cubemap"), ws.camera.mode === "cubemap"),
    ...(ws.depth ? [tb("tool-surface", "◍", "Surface", "S", () => ws.toggleSurfaceCursor(), ws.surfaceCursorOn)] : []),
    h("span", { class: "grow" }),
    tb("tool-help", "?", "Help", "?", () => helpOverlay()),
  );
}

export function renderStatus(ws: Workspace): void {
  ws.statusHost.replaceChildren(statusBadge(ws.pano.status));
}

export async function logout(): Promise<void> {
  signOut();
}
