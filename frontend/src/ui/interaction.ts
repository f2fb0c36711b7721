/**
 * Mouse and keyboard editing on the drawing canvas: draw polygons (click vertices; close on the
 * first vertex, double-click or Enter; Esc cancels; Backspace removes the last vertex), select,
 * drag / insert / delete vertices, add a part, and look around (drag, wheel). A click that would
 * make the outline cross itself is refused (the crossed edge flashes red), as is a vertex drag
 * that would; locked instances are neither picked nor edited. A keyboard crosshair (X) places
 * vertices without a mouse. The ellipse tool makes a round thing's outline from three clicks
 * (the ends of one axis, then one more point of the outline), the rectangle tool an upright
 * rectangle from two opposite corners: see sphere/shapes.ts.
 */
import { Geometry, LonLat, View, angleBetween, arcsCross, ellipseRing, lonlatToVec, pointInGeometry, uprightRectangle } from "../sphere";
import { Inst, Store, VertexRef, deleteVertex, insertVertex, moveVertex, newUid } from "../store";
import { prepare } from "../render/prepared";
import { projectSegment } from "../render/overlay";

export type Tool = "draw" | "edit" | "pan" | "box" | "ellipse" | "rect";
/** Tools whose clicks are vertices or shape points (they show a cursor and take the crosshair). */
const CLICKING: ReadonlySet<Tool> = new Set<Tool>(["draw", "ellipse", "rect"]);
/** Clicks that make a shape, per shape tool. */
const SHAPE_CLICKS: Partial<Record<Tool, number>> = { ellipse: 3, rect: 2 };

export interface Host {
  view(): View;
  store: Store;
  canEdit: boolean;
  currentClass(): number | null;
  look(dx: number, dy: number): void;
  zoom(factor: number): void;
  request(): void;
  /** Redraw the overlay only (cursor moves): the WebGL view is unchanged. */
  requestOverlay(): void;
  isNfov(): boolean;
  /** Box tool: a box was dragged ([x0, y0, x1, y1] view pixels), or a point clicked in it. */
  onBox?(box: [number, number, number, number]): void;
  onBoxPoint?(x: number, y: number, positive: boolean): void;
  /** A short message for the user (a refused click). */
  notify?(message: string): void;
}

/** Index of a draft edge the new edge a→b would cross (edges k→k+1 of ``ring``; ``closing``
 * checks the edge back to the first vertex), or -1. Adjacent edges share a vertex and are skipped. */
export function crossingEdge(ring: LonLat[], b: LonLat, closing: boolean): number {
  const n = ring.length;
  if (n < 2) return -1;
  const A = lonlatToVec(ring[n - 1][0], ring[n - 1][1]);
  const B = lonlatToVec(b[0], b[1]);
  const first = closing ? 1 : 0;
  for (let k = first; k < n - 2; k++) {
    if (arcsCross(A, B, lonlatToVec(ring[k][0], ring[k][1]), lonlatToVec(ring[k + 1][0], ring[k + 1][1]))) return k;
  }
  return -1;
}

/** Whether a closed ring crosses itself (any two non-adjacent edges cross). */
export function ringCrossesItself(ring: LonLat[]): boolean {
  const v = ring.map(([lon, lat]) => lonlatToVec(lon, lat));
  const n = v.length;
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue;
      if (arcsCross(v[i], v[(i + 1) % n], v[j], v[(j + 1) % n])) return true;
    }
  }
  return false;
}

const CLICK_SLOP = 4;
const VERTEX_HIT = 9;
const EDGE_HIT = 6;

export class Interaction {
  tool: Tool = "draw";
  addPart = false;
  draft: LonLat[] = [];
  cursor: LonLat | null = null;
  /** Pixel under the mouse (any tool), null when it is outside the canvas or dragging. */
  hover: [number, number] | null = null;
  /** Geometry shown instead of the stored one while a vertex is dragged. */
  preview: { uid: string; geometry: Geometry } | null = null;
  /** The box being dragged with the box tool (view pixels). */
  boxDrag: [number, number, number, number] | null = null;
  /** A refused edge (it would cross the outline), shown red until ``until``. */
  invalid: { a: LonLat; b: LonLat; until: number } | null = null;
  /** Keyboard crosshair in view pixels (X toggles it); null when off. */
  crosshair: [number, number] | null = null;
  private down: { x: number; y: number; moved: boolean; kind: "look" | "vertex" | "click" | "box"; ref?: VertexRef; uid?: string } | null = null;
  private last = { x: 0, y: 0 };

  constructor(
    readonly canvas: HTMLCanvasElement,
    readonly host: Host,
  ) {
    canvas.addEventListener("pointerdown", (e) => this.onDown(e));
    canvas.addEventListener("pointermove", (e) => this.onMove(e));
    canvas.addEventListener("pointerup", (e) => this.onUp(e));
    canvas.addEventListener("dblclick", (e) => {
      e.preventDefault();
      if (this.tool === "draw") this.finish();
    });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.host.zoom(Math.exp(e.deltaY * 0.0015));
    }, { passive: false });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("pointerleave", () => {
      this.hover = null;
      this.host.requestOverlay();
    });
  }

  /** Convention pixel coordinates (centre of pixel x at x) of a mouse event. */
  private pixel(e: MouseEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [e.clientX - r.left - 0.5, e.clientY - r.top - 0.5];
  }

  setTool(tool: Tool): void {
    // a polygon in progress survives re-choosing Draw; clicks of another tool do not carry over
    if (tool !== "draw" || this.tool !== "draw") this.cancel();
    this.tool = tool;
    this.canvas.dataset.tool = tool;
    this.host.request();
  }

  cancel(): void {
    this.draft = [];
    this.addPart = false;
    this.host.request();
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0 && e.button !== 2) return;
    this.canvas.setPointerCapture(e.pointerId);
    const [x, y] = this.pixel(e);
    this.last = { x: e.clientX, y: e.clientY };
    const store = this.host.store;
    if (e.button === 0 && this.tool === "edit" && this.host.canEdit && store.selected && !store.locked.has(store.selected)) {
      const inst = store.get(store.selected);
      if (inst) {
        const ref = this.hitVertex(inst, x, y);
        if (ref) {
          store.select(inst.uid, ref);
          this.down = { x, y, moved: false, kind: "vertex", ref, uid: inst.uid };
          return;
        }
        const edge = this.hitEdge(inst, x, y);
        if (edge) {
          // insert a vertex on the edge (one undoable step) and drag it from there
          const lonlat = this.host.view().pixelToLonlat(edge.x, edge.y);
          const geometry = insertVertex(inst.geometry, edge.part, edge.ring, edge.index, lonlat);
          store.setGeometry(inst.uid, geometry);
          const ref = { part: edge.part, ring: edge.ring, index: edge.index + 1 };
          store.select(inst.uid, ref);
          this.down = { x, y, moved: false, kind: "vertex", ref, uid: inst.uid };
          return;
        }
      }
    }
    const kind = this.tool === "pan" || e.button === 2 ? "look" : this.tool === "box" && this.host.canEdit ? "box" : "click";
    this.down = { x, y, moved: false, kind };
  }

  private onMove(e: PointerEvent): void {
    const [x, y] = this.pixel(e);
    const view = this.host.view();
    this.hover = this.down?.moved ? null : [x, y];
    if (CLICKING.has(this.tool)) this.cursor = view.pixelToLonlat(x, y);
    this.host.requestOverlay();
    const d = this.down;
    if (!d) return;
    if (!d.moved && Math.hypot(x - d.x, y - d.y) > CLICK_SLOP) {
      d.moved = true;
      if (d.kind === "click") d.kind = "look";
    }
    if (!d.moved) return;
    if (d.kind === "box") {
      this.boxDrag = [d.x, d.y, x, y];
      this.host.requestOverlay();
    } else if (d.kind === "look") {
      this.host.look(e.clientX - this.last.x, e.clientY - this.last.y);
    } else if (d.kind === "vertex" && d.ref && d.uid) {
      const inst = this.host.store.get(d.uid);
      if (inst) this.preview = { uid: d.uid, geometry: moveVertex(inst.geometry, d.ref, view.pixelToLonlat(x, y)) };
      this.host.request();
    }
    this.last = { x: e.clientX, y: e.clientY };
  }

  private onUp(e: PointerEvent): void {
    const d = this.down;
    this.down = null;
    if (!d) return;
    const [x, y] = this.pixel(e);
    if (d.kind === "vertex") {
      if (d.moved && this.preview) {
        const ring = d.ref ? this.preview.geometry[d.ref.part]?.[d.ref.ring] : undefined;
        if (ring && ringCrossesItself(ring)) this.host.notify?.("Not moved: the outline would cross itself.");
        else this.host.store.setGeometry(this.preview.uid, this.preview.geometry);
      }
      this.preview = null;
      this.host.request();
      return;
    }
    if (d.kind === "box" || (this.tool === "box" && e.button === 2 && !d.moved)) {
      this.boxDrag = null;
      if (d.moved) {
        const box: [number, number, number, number] = [Math.min(d.x, x), Math.min(d.y, y), Math.max(d.x, x), Math.max(d.y, y)];
        if (box[2] - box[0] >= 6 && box[3] - box[1] >= 6) this.host.onBox?.(box);
      } else this.host.onBoxPoint?.(x, y, e.button === 0 && !e.shiftKey && !e.altKey);
      this.host.requestOverlay();
      return;
    }
    if (d.moved || e.button !== 0) return;
    if (this.tool === "draw" && this.host.canEdit) this.clickDraw(x, y);
    else if (SHAPE_CLICKS[this.tool] && this.host.canEdit) this.clickShape(x, y);
    else if (this.tool === "edit" || this.tool === "pan") this.pick(x, y);
  }

  private clickDraw(x: number, y: number): void {
    const view = this.host.view();
    if (this.draft.length) {
      const first = view.lonlatToPixel(this.draft[0][0], this.draft[0][1]);
      if (this.draft.length >= 3 && first && Math.hypot(first[0] - x, first[1] - y) <= VERTEX_HIT) {
        this.finish();
        return;
      }
      const last = view.lonlatToPixel(this.draft[this.draft.length - 1][0], this.draft[this.draft.length - 1][1]);
      if (last && Math.hypot(last[0] - x, last[1] - y) < 3) return; // second click of a double-click
    }
    const point = view.pixelToLonlat(x, y);
    const k = crossingEdge(this.draft, point, false);
    if (k >= 0) {
      this.refuse(this.draft[this.draft.length - 1], point, "That vertex would make the outline cross itself.");
      return;
    }
    this.draft.push(point);
    this.host.request();
  }

  /** The ring the shape tool makes when ``point`` is its last click (null: no shape). */
  private shapeRing(point: LonLat): LonLat[] | null {
    if (this.tool === "ellipse") return ellipseRing(this.host.view(), this.draft[0], this.draft[1], point);
    return uprightRectangle(this.draft[0], point);
  }

  /** Ellipse tool: the ends of an axis, then one more outline point; rectangle tool: two
   *  opposite corners. The last click makes the instance, or is refused with the reason. */
  private clickShape(x: number, y: number): void {
    const view = this.host.view();
    const point = view.pixelToLonlat(x, y);
    if (this.draft.length) {
      const last = view.lonlatToPixel(this.draft[this.draft.length - 1][0], this.draft[this.draft.length - 1][1]);
      if (last && Math.hypot(last[0] - x, last[1] - y) < 3) return; // second click of a double-click
    }
    if (this.draft.length < SHAPE_CLICKS[this.tool]! - 1) {
      this.draft.push(point);
      this.host.request();
      return;
    }
    const ring = this.shapeRing(point);
    if (!ring) {
      this.host.notify?.(this.tool === "ellipse"
        ? "Click a point of the outline between the two ends of the axis."
        : "Click the opposite corner: off the first corner's vertical and off its level.");
      return;
    }
    this.draft = [];
    this.commitRing(ring);
  }

  /** The shape the next click would make (a shape tool one click from done), for the overlay. */
  shapePreview(): LonLat[] | null {
    const needed = SHAPE_CLICKS[this.tool];
    if (!needed || this.draft.length !== needed - 1 || !this.cursor) return null;
    return this.shapeRing(this.cursor);
  }

  private refuse(a: LonLat, b: LonLat, message: string): void {
    this.invalid = { a, b, until: performance.now() + 1500 };
    this.host.notify?.(message);
    this.host.request();
    window.setTimeout(() => this.host.requestOverlay(), 1600);
  }

  /** Keyboard crosshair: on at the view centre, or off. */
  toggleCrosshair(): void {
    const view = this.host.view();
    this.crosshair = this.crosshair ? null : [view.width / 2 - 0.5, view.height / 2 - 0.5];
    this.syncCrosshairCursor();
  }

  moveCrosshair(dx: number, dy: number): void {
    if (!this.crosshair) return;
    const view = this.host.view();
    this.crosshair = [Math.max(0, Math.min(view.width - 1, this.crosshair[0] + dx)), Math.max(0, Math.min(view.height - 1, this.crosshair[1] + dy))];
    this.syncCrosshairCursor();
  }

  /** Space at the crosshair: a vertex (draw tool) or a pick (edit / pan). */
  placeAtCrosshair(): void {
    if (!this.crosshair) return;
    const [x, y] = this.crosshair;
    if (this.tool === "draw" && this.host.canEdit) this.clickDraw(x, y);
    else if (SHAPE_CLICKS[this.tool] && this.host.canEdit) this.clickShape(x, y);
    else this.pick(x, y);
  }

  private syncCrosshairCursor(): void {
    if (this.crosshair && CLICKING.has(this.tool)) this.cursor = this.host.view().pixelToLonlat(this.crosshair[0], this.crosshair[1]);
    this.host.requestOverlay();
  }

  /** Close the polygon being drawn: a new instance, or a new part of the selected one. */
  finish(): void {
    if (this.tool !== "draw" || this.draft.length < 3) return;
    if (crossingEdge(this.draft, this.draft[0], true) >= 0) {
      this.refuse(this.draft[this.draft.length - 1], this.draft[0], "Closing here would make the outline cross itself: add vertices or undo the last one (Backspace).");
      return;
    }
    const ring = this.draft.slice();
    this.draft = [];
    this.commitRing(ring);
  }

  /** A closed ring becomes a new instance, or a new part of the selected one (Add part). */
  private commitRing(ring: LonLat[]): void {
    const store = this.host.store;
    const target = this.addPart && store.selected ? store.get(store.selected) : undefined;
    if (target) {
      store.setGeometry(target.uid, [...target.geometry, [ring]]);
      this.addPart = false;
    } else {
      const cls = this.host.currentClass();
      if (cls === null) return;
      const inst: Inst = { uid: newUid(), label_class: cls, geometry: [[ring]], source: "manual", is_suggestion: false, score: null, model_version: "", attributes: {} };
      store.add(inst);
    }
    this.host.request();
  }

  removeLastDraftVertex(): boolean {
    if (!this.draft.length) return false;
    this.draft.pop();
    this.host.request();
    return true;
  }

  /** Delete the selected vertex, else the selected instance. */
  deleteSelection(): void {
    const store = this.host.store;
    if (!store.selected || !this.host.canEdit) return;
    const inst = store.get(store.selected);
    if (!inst) return;
    if (store.locked.has(inst.uid)) {
      this.host.notify?.("This instance is locked: unlock it (L) to change it.");
      return;
    }
    if (store.selectedVertex) {
      store.setGeometry(inst.uid, deleteVertex(inst.geometry, store.selectedVertex));
      store.selectedVertex = null;
    } else store.remove(inst.uid);
  }

  /** Select the topmost instance under the pixel. */
  pick(x: number, y: number): void {
    const view = this.host.view();
    const p = view.pixelToVec(x, y);
    const store = this.host.store;
    const list = store.visible();
    for (let i = list.length - 1; i >= 0; i--) {
      if (store.locked.has(list[i].uid)) continue; // clicks go through locked instances
      const prep = prepare(list[i].geometry);
      if (angleBetween(prep.centre, p) > prep.radius + 1e-9) continue;
      if (pointInGeometry(p, list[i].geometry)) {
        store.select(list[i].uid);
        return;
      }
    }
    store.select(null);
  }

  hitVertex(inst: Inst, x: number, y: number): VertexRef | null {
    const view = this.host.view();
    let best: VertexRef | null = null;
    let bestD = VERTEX_HIT;
    inst.geometry.forEach((poly, part) =>
      poly.forEach((ring, r) =>
        ring.forEach(([lon, lat], index) => {
          const px = view.lonlatToPixel(lon, lat);
          if (!px) return;
          const d = Math.hypot(px[0] - x, px[1] - y);
          if (d < bestD) {
            bestD = d;
            best = { part, ring: r, index };
          }
        }),
      ),
    );
    return best;
  }

  hitEdge(inst: Inst, x: number, y: number): { part: number; ring: number; index: number; x: number; y: number } | null {
    const view = this.host.view();
    let best: { part: number; ring: number; index: number; x: number; y: number } | null = null;
    let bestD = EDGE_HIT;
    inst.geometry.forEach((poly, part) =>
      poly.forEach((ring, r) =>
        ring.forEach((a, index) => {
          const b = ring[(index + 1) % ring.length];
          const s = projectSegment(view, lonlatToVec(a[0], a[1]), lonlatToVec(b[0], b[1]));
          if (!s) return;
          const [x0, y0, x1, y1] = s;
          const dx = x1 - x0;
          const dy = y1 - y0;
          const len2 = dx * dx + dy * dy;
          if (len2 < 1) return;
          const t = Math.max(0, Math.min(1, ((x - x0) * dx + (y - y0) * dy) / len2));
          const qx = x0 + t * dx;
          const qy = y0 + t * dy;
          const d = Math.hypot(qx - x, qy - y);
          if (d < bestD && t > 0.02 && t < 0.98) {
            bestD = d;
            best = { part, ring: r, index, x: qx, y: qy };
          }
        }),
      ),
    );
    return best;
  }
}
