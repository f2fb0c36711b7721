/** The render loop: canvas sizing, WebGL frame, overlay drawing (instances, box tool, surface cursor, draft), HUD, side viewers and panels. */
import { FACE_NAMES, LonLat, View, lonlatToVec, vecToLonlat } from "../sphere";
import type { LiveEdit } from "../ui/equirect";
import { heading } from "../ui/camera";
import { h } from "../ui/dom";
import { drawClosedPreview, drawDraft, drawHandles, drawInstances, projectSegment } from "../render/overlay";
import { drawSurfaceCursor, surfaceCursor } from "../render/depth";
import type { Workspace } from "./core";

export function resize(ws: Workspace): void {
  const rect = ws.stage.getBoundingClientRect();
  let w = Math.floor(rect.width);
  let hgt = Math.floor(rect.height);
  if (ws.camera.mode === "cubemap") {
    const s = Math.min(w, hgt) - 16;
    w = s;
    hgt = s;
  }
  w = Math.max(w, 16);
  hgt = Math.max(hgt, 16);
  if (w === ws.viewW && hgt === ws.viewH) return;
  ws.viewW = w;
  ws.viewH = hgt;
  const dpr = window.devicePixelRatio || 1;
  for (const c of [ws.glCanvas, ws.overlay]) {
    c.width = Math.round(w * dpr);
    c.height = Math.round(hgt * dpr);
    c.style.width = `${w}px`;
    c.style.height = `${hgt}px`;
  }
  ws.needs.gl = true;
  ws.needs.overlay = true;
}

export function loop(ws: Workspace): void {
  const frame = () => {
    const start = performance.now();
    ws.resize();
    const drew = ws.needs.gl || ws.needs.overlay;
    const view = ws.view();
    if (ws.firstFrameAt !== null && ws.firstFramePresentedAt === null) ws.firstFramePresentedAt = start;
    let firstNow = false;
    if (ws.needs.gl && ws.renderer) {
      ws.timed("glDraw", () => ws.renderer!.draw(new View({ ...view.params(), width: ws.glCanvas.width, height: ws.glCanvas.height })));
      if (ws.renderer.hasTiles() && ws.firstFrameAt === null) {
        ws.firstFrameAt = performance.now(); // since navigation start
        document.body.dataset.firstFrame = "1";
        firstNow = true;
      }
      ws.needs.gl = false;
    }
    // the frame with the first imagery carries nothing else; overlays, viewers and panels follow
    const early = firstNow || (ws.firstFrameAt === null && !!ws.renderer && !ws.previewFailed);
    if (ws.needs.panels && !early) {
      ws.timed("panels", () => ws.renderPanels());
      ws.needs.panels = false;
    }
    if (ws.needs.overlay && !early) {
      ws.equirect.resize(); // reads layout: before the HUD's DOM changes, so none is forced
      ws.timed("overlay", () => ws.drawOverlay(view));
      ws.drawHud(view);
      if (ws.marks.overlayDrawn === undefined && document.body.dataset.ready === "1") {
        // the first overlay with the instances in; the equirect viewer's layer (every
        // instance densified, ~0.3 s for 5,000) follows in the next frame
        ws.marks.overlayDrawn = performance.now();
        equirectLate.add(ws);
      } else drawEquirect(ws, view);
      ws.needs.overlay = false;
    } else if (equirectLate.has(ws)) drawEquirect(ws, view);
    if (ws.needs.side && !early) {
      ws.cubeHost.hidden = ws.camera.mode !== "cubemap";
      if (ws.camera.mode === "cubemap") ws.cubemap.draw(ws.store.instances, ws.classes.colors(), ws.store.hidden, ws.store.selected);
      ws.needs.side = false;
    }
    if (drew) {
      ws.frameTimes.push(performance.now() - start);
      if (ws.frameTimes.length > 600) ws.frameTimes.shift();
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

export function renderPanels(ws: Workspace): void {
  const counts = new Map<number, number>();
  for (const i of ws.store.instances) counts.set(i.label_class, (counts.get(i.label_class) ?? 0) + 1);
  ws.classes.counts = counts;
  ws.classes.render();
  ws.instancesPanel.render();
  ws.renderToolbar();
}

export function drawOverlay(ws: Workspace, view: View): void {
  const ctx = ws.overlay.getContext("2d")!;
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, view.width, view.height);
  const it = ws.interaction;
  let instances = ws.store.instances;
  const pv = it.preview;
  const current = pv && ws.store.selected ? ws.store.get(ws.store.selected) : undefined;
  // a vertex of the selected instance dragged: the others keep their cached paths
  const selectedPreview = pv && current && pv.uid === current.uid ? { ...current, geometry: pv.geometry } : null;
  if (pv && !selectedPreview) instances = instances.map((i) => (i.uid === pv.uid ? { ...i, geometry: pv.geometry } : i));
  const colors = ws.classes.colors();
  const ia = ws.interactive;
  if (ia?.result) instances = [...instances, ia.result];
  const drawn = String(drawInstances(ctx, view, instances, { colors, selected: ws.store.selected, selectedVertex: ws.store.selectedVertex, hidden: ws.store.hidden, fillAlpha: 0.28, selectedPreview }));
  // how many instances the view shows after culling (read by the scale test)
  if (document.body.dataset.overlayInstances !== drawn) document.body.dataset.overlayInstances = drawn;
  const sel = selectedPreview ?? (ws.store.selected ? instances.find((i) => i.uid === ws.store.selected) : undefined);
  if (sel && it.tool === "edit" && !ws.store.hidden.has(sel.uid)) drawHandles(ctx, view, sel, ws.store.selectedVertex);
  if (ws.camera.mode === "cubemap") {
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
  if (ia && ws.sameView(ia.view, view.params())) {
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
  ws.lastCursor = null;
  if (ws.depth && ws.surfaceCursorOn && it.hover) {
    const c = surfaceCursor(view, ws.depth, it.hover[0], it.hover[1]);
    if (c) {
      drawSurfaceCursor(ctx, c);
      ws.lastCursor = c;
    }
  }
  if (it.draft.length) {
    const cls = ws.classes.byId(ws.classes.current ?? -1);
    const color = cls?.color ?? "#ffd43b";
    const shape = it.shapePreview();
    if (shape) drawClosedPreview(ctx, view, shape, color);
    // a shape tool's clicks are an axis or a corner, not a polygon: no rubber band
    drawDraft(ctx, view, { points: it.draft, cursor: it.tool === "draw" ? it.cursor : null, color });
  }
  if (it.invalid && it.invalid.until > performance.now()) {
    // the refused edge, red: it would have crossed the outline
    const s = projectSegment(view, lonlatToVec(...it.invalid.a), lonlatToVec(...it.invalid.b));
    if (s) {
      ctx.save();
      ctx.strokeStyle = "#ff3b3b";
      ctx.lineWidth = 3;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(s[0] + 0.5, s[1] + 0.5);
      ctx.lineTo(s[2] + 0.5, s[3] + 0.5);
      ctx.stroke();
      ctx.restore();
    }
  }
  if (it.crosshair) {
    const [x, y] = it.crosshair;
    ctx.save();
    ctx.strokeStyle = "#ffd43b";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(x + 0.5 - 14, y + 0.5);
    ctx.lineTo(x + 0.5 - 4, y + 0.5);
    ctx.moveTo(x + 0.5 + 4, y + 0.5);
    ctx.lineTo(x + 0.5 + 14, y + 0.5);
    ctx.moveTo(x + 0.5, y + 0.5 - 14);
    ctx.lineTo(x + 0.5, y + 0.5 - 4);
    ctx.moveTo(x + 0.5, y + 0.5 + 4);
    ctx.lineTo(x + 0.5, y + 0.5 + 14);
    ctx.stroke();
    ctx.restore();
  }
}

/** Workspaces whose equirect viewer was left for the next frame. */
const equirectLate = new WeakSet<Workspace>();

function drawEquirect(ws: Workspace, view: View): void {
  equirectLate.delete(ws);
  ws.timed("equirect", () => ws.equirect.draw(ws.store.instances, ws.classes.colors(), ws.store.hidden, ws.store.selected, view, liveEdit(ws)));
}

/** The edit in progress, for the equirect viewer (null when there is none). */
function liveEdit(ws: Workspace): LiveEdit | null {
  const it = ws.interaction;
  const invalid = it.invalid && it.invalid.until > performance.now() ? ([it.invalid.a, it.invalid.b] as [LonLat, LonLat]) : null;
  if (!it.draft.length && !it.preview && !invalid) return null;
  const cls = ws.classes.byId(ws.classes.current ?? -1);
  const shape = it.shapePreview();
  const preview = it.preview?.geometry ?? (shape ? [[shape]] : null);
  return { draft: it.draft, cursor: it.tool === "draw" ? it.cursor : null, color: cls?.color ?? "#ffd43b", preview, invalid };
}

/** The HUD's nodes, kept between frames: a drag changes their text, not the DOM tree. */
interface HudNodes {
  mode: string;
  fixed: HTMLElement[];
  /** The text-holding nodes of `fixed`, in the order of `hudTexts`. */
  texts: HTMLElement[];
  needle: HTMLElement | null;
  depth: HTMLElement[];
  depthKey: string;
}

const hudNodes = new WeakMap<HTMLElement, HudNodes>();

function hudTexts(ws: Workspace, view: View): string[] {
  const c = ws.camera;
  if (c.mode === "cubemap") return [`Face ${FACE_NAMES[c.face]}`, `FOV ${c.faceFov.toFixed(0)}° (face 90° outlined)`];
  const [lon, lat] = vecToLonlat(view.toWorld([0, 0, 1]));
  return [`${c.yaw.toFixed(1)}° ${heading(c.yaw)}`, `pitch ${c.pitch.toFixed(1)}°`, `FOV ${c.hfov.toFixed(0)}°`, `centre ${lon.toFixed(1)}°, ${lat.toFixed(1)}°`];
}

function buildHud(mode: string): HudNodes {
  if (mode === "cubemap") {
    const face = h("b", {});
    const fov = h("span", { class: "hud-item" });
    return { mode, fixed: [h("span", { class: "hud-item" }, face), fov], texts: [face, fov], needle: null, depth: [], depthKey: "" };
  }
  const needle = h("span", { class: "compass-needle" });
  const yaw = h("b", {});
  const pitch = h("span", { class: "hud-item" });
  const fov = h("span", { class: "hud-item" });
  const centre = h("span", { class: "hud-item muted" });
  const fixed = [
    h("span", { class: "compass", title: "Heading (yaw)" }, h("span", { class: "compass-n" }, "N"), needle),
    h("span", { class: "hud-item", id: "hud-heading" }, yaw),
    pitch,
    fov,
    centre,
  ];
  return { mode, fixed, texts: [yaw, pitch, fov, centre], needle, depth: [], depthKey: "" };
}

export function drawHud(ws: Workspace, view: View): void {
  const mode = ws.camera.mode;
  let nodes = hudNodes.get(ws.hud);
  if (!nodes || nodes.mode !== mode || nodes.fixed[0].parentNode !== ws.hud) {
    nodes = buildHud(mode);
    hudNodes.set(ws.hud, nodes);
    ws.hud.replaceChildren(...nodes.fixed);
  }
  hudTexts(ws, view).forEach((text, i) => {
    if (nodes.texts[i].textContent !== text) nodes.texts[i].textContent = text;
  });
  if (nodes.needle) {
    const turn = `rotate(${ws.camera.yaw}deg)`;
    if (nodes.needle.style.transform !== turn) nodes.needle.style.transform = turn;
  }
  const depth = ws.depthHud();
  const depthKey = depth.map((e) => `${e.id}|${e.title}|${e.textContent}`).join("\n");
  if (depthKey !== nodes.depthKey) {
    for (const e of nodes.depth) e.remove();
    ws.hud.append(...depth);
    nodes.depth = depth;
    nodes.depthKey = depthKey;
  }
}

export function drawBox(ctx: CanvasRenderingContext2D, b: [number, number, number, number], color: string): void {
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
