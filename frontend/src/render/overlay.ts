/**
 * Canvas2D overlay of instances on a rectilinear view. Rings are clipped on the sphere to the
 * view frustum (never wrapped), then projected: inside the frustum a great-circle arc is a straight
 * segment, so a clipped ring is an ordinary polygon. Instances whose bounding cap is outside the
 * frustum are culled and those wholly inside are projected without clipping (`cull.ts`); fills
 * and outlines are batched into a few paths per class, and the paths of the last camera pose
 * are kept, so redraws that do not move the camera (hover, cursor) rebuild nothing.
 */
import { ProjectedRing, Vec3, View, lonlatToVec } from "../sphere";
import type { Inst, VertexRef } from "../store";
import { CULLED, RingSinks, ViewProjector, outlinePath, ringPath } from "./cull";
import { Prepared, prepare } from "./prepared";

export interface OverlayStyle {
  colors: Map<number, string>;
  selected: string | null;
  selectedVertex: VertexRef | null;
  hidden: Set<string>;
  fillAlpha: number;
  /** The selected instance as it is being edited (a vertex dragged): drawn instead of it. */
  selectedPreview?: Inst | null;
}

export interface Draft {
  points: [number, number][];
  cursor: [number, number] | null; // lon/lat under the mouse
  color: string;
}

const MARGIN = 8;

export function viewCone(view: View): { centre: Vec3; radius: number } {
  const tx = view.width / 2 / view.focal;
  const ty = view.height / 2 / view.focal;
  return { centre: view.toWorld([0, 0, 1]), radius: Math.atan(Math.hypot(tx, ty)) + 0.02 };
}

const projectors = new WeakMap<View, ViewProjector>();

function projectorOf(view: View, marginPx = MARGIN): ViewProjector {
  if (marginPx !== MARGIN) return new ViewProjector(view, marginPx);
  let p = projectors.get(view);
  if (!p) projectors.set(view, (p = new ViewProjector(view, MARGIN)));
  return p;
}

/** Projected rings of an instance in a view ([part][ring], null where invisible). */
export function projectInstance(view: View, inst: Inst, marginPx = MARGIN): (ProjectedRing | null)[][] {
  const prep = prepare(inst.geometry);
  const projector = projectorOf(view, marginPx);
  const mask = projector.classify(prep);
  return prep.rings.map((poly) => poly.map((ring) => (mask === CULLED ? null : projector.clipped(ring.flat, mask))));
}

export function hexToRgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** One class colour's paths: rings drawn whole, and clipped rings (fill, outline), solid and dashed. */
interface Group {
  whole: Path2D;
  clippedFill: Path2D;
  clippedLine: Path2D;
  dashedWhole: Path2D;
  dashedLine: Path2D;
}

/**
 * What does not depend on the camera, for one instance set and style: the drawable instances'
 * caps packed for the per-frame culling loop, their colour group and whether they are dashed.
 */
interface Scene {
  instances: Inst[];
  colors: Map<number, string>;
  hidden: Set<string>;
  selected: string | null;
  groupColors: string[];
  preps: Prepared[];
  caps: Float64Array; // x, y, z of the centre and sin(radius), per drawable instance
  group: Uint16Array;
  dashed: Uint8Array;
  selectedInst: Inst | null;
}

/** The paths of one camera pose of a scene (the selected instance is not among them). */
interface Built {
  scene: Scene;
  key: string;
  groups: Group[];
  drawn: number;
}

const scenes = new WeakMap<CanvasRenderingContext2D, Scene>();
const built = new WeakMap<CanvasRenderingContext2D, Built>();

function sameEntries<K, V>(a: Map<K, V>, b: Map<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameSet<T>(a: Set<T>, b: Set<T>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function sceneOf(ctx: CanvasRenderingContext2D, instances: Inst[], style: OverlayStyle): Scene {
  const old = scenes.get(ctx);
  if (old && old.instances === instances && old.selected === style.selected && sameEntries(old.colors, style.colors) && sameSet(old.hidden, style.hidden)) return old;
  const groupColors: string[] = [];
  const groupOf = new Map<string, number>();
  const preps: Prepared[] = [];
  const caps = new Float64Array(4 * instances.length);
  const group = new Uint16Array(instances.length);
  const dashed = new Uint8Array(instances.length);
  let selectedInst: Inst | null = null;
  for (const inst of instances) {
    if (style.hidden.has(inst.uid)) continue;
    if (inst.uid === style.selected) {
      selectedInst = inst;
      continue;
    }
    const color = style.colors.get(inst.label_class) ?? "#cccccc";
    let g = groupOf.get(color);
    if (g === undefined) {
      groupOf.set(color, (g = groupColors.length));
      groupColors.push(color);
    }
    const prep = prepare(inst.geometry);
    const i = preps.length;
    caps.set(prep.centre, 4 * i);
    caps[4 * i + 3] = prep.sinRadius;
    group[i] = g;
    dashed[i] = inst.is_suggestion ? 1 : 0;
    preps.push(prep);
  }
  const scene = { instances, colors: new Map(style.colors), hidden: new Set(style.hidden), selected: style.selected, groupColors, preps, caps, group, dashed, selectedInst };
  scenes.set(ctx, scene);
  return scene;
}

function build(view: View, scene: Scene, key: string): Built {
  const projector = projectorOf(view);
  const groups: Group[] = [];
  const solid: RingSinks[] = [];
  const dashedSinks: RingSinks[] = [];
  for (let g = 0; g < scene.groupColors.length; g++) {
    const p = { whole: new Path2D(), clippedFill: new Path2D(), clippedLine: new Path2D(), dashedWhole: new Path2D(), dashedLine: new Path2D() };
    groups.push(p);
    solid.push(p);
    dashedSinks.push({ whole: p.dashedWhole, clippedFill: p.clippedFill, clippedLine: p.dashedLine });
  }
  const { caps, preps, group, dashed } = scene;
  let drawn = 0;
  for (let i = 0; i < preps.length; i++) {
    const mask = projector.classifyCap(caps[4 * i], caps[4 * i + 1], caps[4 * i + 2], caps[4 * i + 3]);
    if (mask === CULLED) continue;
    if (projector.append(preps[i], (dashed[i] ? dashedSinks : solid)[group[i]], mask)) drawn += 1;
  }
  return { scene, key, groups, drawn };
}

/** Draw all visible instances; returns how many were drawn (after culling). */
export function drawInstances(ctx: CanvasRenderingContext2D, view: View, instances: Inst[], style: OverlayStyle): number {
  const scene = sceneOf(ctx, instances, style);
  const key = `${view.yaw},${view.pitch},${view.roll},${view.hfov},${view.width},${view.height}`;
  let b = built.get(ctx);
  if (!b || b.scene !== scene || b.key !== key) {
    b = build(view, scene, key);
    built.set(ctx, b);
  }
  ctx.save();
  ctx.translate(0.5, 0.5);
  ctx.lineJoin = "round";
  ctx.lineCap = "round"; // rings are closed by a line back to the start (see ringPath)
  ctx.lineWidth = 2;
  b.groups.forEach((g, k) => {
    const color = scene.groupColors[k];
    ctx.fillStyle = hexToRgba(color, style.fillAlpha);
    ctx.strokeStyle = color;
    ctx.fill(g.whole, "evenodd");
    ctx.fill(g.dashedWhole, "evenodd");
    ctx.fill(g.clippedFill, "evenodd");
    ctx.setLineDash([]);
    ctx.stroke(g.whole);
    ctx.stroke(g.clippedLine);
    ctx.setLineDash([7, 5]);
    ctx.stroke(g.dashedWhole);
    ctx.stroke(g.dashedLine);
    ctx.setLineDash([]);
  });
  // the selected instance on top, projected on each call: a dragged vertex redraws only it
  let drawn = b.drawn;
  const sel = scene.selectedInst && (style.selectedPreview ?? scene.selectedInst);
  if (sel) {
    const rings = projectInstance(view, sel);
    if (rings.some((poly) => poly.some((r) => r))) {
      drawn += 1;
      drawSelected(ctx, sel, rings, style);
    }
  }
  ctx.restore();
  return drawn;
}

function drawSelected(ctx: CanvasRenderingContext2D, inst: Inst, rings: (ProjectedRing | null)[][], style: OverlayStyle): void {
  const color = style.colors.get(inst.label_class) ?? "#cccccc";
  const fill = new Path2D();
  const line = new Path2D();
  for (const poly of rings) for (const r of poly) if (r) (ringPath(fill, r), outlinePath(line, r));
  ctx.fillStyle = hexToRgba(color, Math.min(0.6, style.fillAlpha + 0.15));
  ctx.fill(fill, "evenodd");
  ctx.setLineDash(inst.is_suggestion ? [7, 5] : []);
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 4;
  ctx.stroke(line);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.stroke(line);
  ctx.setLineDash([]);
}

/** Vertex handles of the selected instance (only vertices in front of the camera and on screen). */
export function drawHandles(ctx: CanvasRenderingContext2D, view: View, inst: Inst, selectedVertex: VertexRef | null): void {
  inst.geometry.forEach((poly, p) =>
    poly.forEach((ring, r) =>
      ring.forEach(([lon, lat], k) => {
        const px = view.lonlatToPixel(lon, lat);
        if (!px || px[0] < -20 || px[1] < -20 || px[0] > view.width + 20 || px[1] > view.height + 20) return;
        const sel = selectedVertex && selectedVertex.part === p && selectedVertex.ring === r && selectedVertex.index === k;
        ctx.beginPath();
        ctx.arc(px[0] + 0.5, px[1] + 0.5, sel ? 6 : 4.5, 0, 2 * Math.PI);
        ctx.fillStyle = sel ? "#ffd43b" : "#ffffff";
        ctx.fill();
        ctx.lineWidth = 1.5;
        ctx.strokeStyle = "#111";
        ctx.stroke();
      }),
    ),
  );
}

/** A great-circle segment a→b projected into the view (clipped at the near plane). */
export function projectSegment(view: View, a: Vec3, b: Vec3): [number, number, number, number] | null {
  let ca = view.toCamera(a);
  let cb = view.toCamera(b);
  const eps = 1e-6;
  if (ca[2] <= eps && cb[2] <= eps) return null;
  if (ca[2] <= eps || cb[2] <= eps) {
    const t = (eps - ca[2]) / (cb[2] - ca[2]);
    const p: Vec3 = [ca[0] + t * (cb[0] - ca[0]), ca[1] + t * (cb[1] - ca[1]), eps];
    if (ca[2] <= eps) ca = p;
    else cb = p;
  }
  const pa = view.rayToPixel(ca)!;
  const pb = view.rayToPixel(cb)!;
  return [pa[0], pa[1], pb[0], pb[1]];
}

/** Great-circle edges between consecutive points (and back to the first when ``closed``),
 *  each clipped to the view, as one path. */
function arcsPath(view: View, pts: Vec3[], closed: boolean): Path2D {
  const path = new Path2D();
  const n = closed ? pts.length : pts.length - 1;
  for (let k = 0; k < n; k++) {
    const s = projectSegment(view, pts[k], pts[(k + 1) % pts.length]);
    if (s) {
      path.moveTo(s[0] + 0.5, s[1] + 0.5);
      path.lineTo(s[2] + 0.5, s[3] + 0.5);
    }
  }
  return path;
}

/** A closed outline the next click would make (dashed, great-circle edges). */
export function drawClosedPreview(ctx: CanvasRenderingContext2D, view: View, ring: [number, number][], color: string): void {
  const path = arcsPath(view, ring.map(([lon, lat]) => lonlatToVec(lon, lat)), true);
  ctx.save();
  ctx.lineWidth = 2;
  ctx.strokeStyle = color;
  ctx.setLineDash([5, 4]);
  ctx.stroke(path);
  ctx.restore();
}

export function drawDraft(ctx: CanvasRenderingContext2D, view: View, draft: Draft): void {
  const pts = draft.points.map(([lon, lat]) => lonlatToVec(lon, lat));
  const path = arcsPath(view, pts, false);
  const cursor = draft.cursor ? lonlatToVec(draft.cursor[0], draft.cursor[1]) : null;
  ctx.lineWidth = 2;
  ctx.strokeStyle = draft.color;
  ctx.stroke(path);
  if (cursor && pts.length) {
    const rubber = new Path2D();
    const s = projectSegment(view, pts[pts.length - 1], cursor);
    if (s) {
      rubber.moveTo(s[0] + 0.5, s[1] + 0.5);
      rubber.lineTo(s[2] + 0.5, s[3] + 0.5);
    }
    if (pts.length >= 2) {
      const c = projectSegment(view, cursor, pts[0]);
      if (c) {
        rubber.moveTo(c[0] + 0.5, c[1] + 0.5);
        rubber.lineTo(c[2] + 0.5, c[3] + 0.5);
      }
    }
    ctx.setLineDash([5, 4]);
    ctx.stroke(rubber);
    ctx.setLineDash([]);
  }
  pts.forEach((v, i) => {
    const px = view.vecToPixel(v);
    if (!px) return;
    ctx.beginPath();
    ctx.arc(px[0] + 0.5, px[1] + 0.5, i === 0 ? 6 : 4, 0, 2 * Math.PI);
    ctx.fillStyle = i === 0 ? draft.color : "#ffffff";
    ctx.fill();
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 1.5;
    ctx.stroke();
  });
}
