/**
 * Canvas2D overlay of instances on a rectilinear view. Rings are clipped on the sphere to the
 * view frustum (never wrapped), then projected: inside the frustum a great-circle arc is a straight
 * segment, so a clipped ring is an ordinary polygon. Instances outside the view cone are culled;
 * fills and outlines are batched into one path per class.
 */
import { ClipVertex, ProjectedRing, Vec3, View, angleBetween, frustumPlanes, lonlatToVec, projectCameraRing } from "../sphere";
import type { Inst, VertexRef } from "../store";
import { prepare } from "./prepared";

export interface OverlayStyle {
  colors: Map<number, string>;
  selected: string | null;
  selectedVertex: VertexRef | null;
  hidden: Set<string>;
  fillAlpha: number;
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

/** Projected rings of an instance in a view ([part][ring], null where invisible). */
export function projectInstance(view: View, inst: Inst, planes = frustumPlanes(view, MARGIN)): (ProjectedRing | null)[][] {
  const prep = prepare(inst.geometry);
  return prep.rings.map((poly) =>
    poly.map((ring) => {
      const cam: ClipVertex[] = ring.vecs.map((v) => ({ v: view.toCamera(v), cut: false }));
      return projectCameraRing(view, cam, planes);
    }),
  );
}

function ringPath(path: Path2D, r: ProjectedRing): void {
  const p = r.pts;
  path.moveTo(p[0], p[1]);
  for (let i = 2; i < p.length; i += 2) path.lineTo(p[i], p[i + 1]);
  path.closePath();
}

function outlinePath(path: Path2D, r: ProjectedRing): void {
  const p = r.pts;
  const n = p.length / 2;
  let pen = false;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    if (r.cut[i]) {
      pen = false;
      continue;
    }
    if (!pen) path.moveTo(p[2 * i], p[2 * i + 1]);
    path.lineTo(p[2 * j], p[2 * j + 1]);
    pen = true;
  }
}

export function hexToRgba(hex: string, alpha: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

/** Draw all visible instances; returns how many were drawn (after culling). */
export function drawInstances(ctx: CanvasRenderingContext2D, view: View, instances: Inst[], style: OverlayStyle): number {
  const cone = viewCone(view);
  const planes = frustumPlanes(view, MARGIN);
  const groups = new Map<string, { fill: Path2D; line: Path2D; dashed: Path2D }>();
  let drawn = 0;
  let selectedRings: (ProjectedRing | null)[][] | null = null;
  let selectedInst: Inst | null = null;
  for (const inst of instances) {
    if (style.hidden.has(inst.uid)) continue;
    const prep = prepare(inst.geometry);
    if (angleBetween(prep.centre, cone.centre) > cone.radius + prep.radius) continue;
    const rings = projectInstance(view, inst, planes);
    if (!rings.some((poly) => poly.some((r) => r))) continue;
    drawn += 1;
    if (inst.uid === style.selected) {
      selectedRings = rings;
      selectedInst = inst;
      continue;
    }
    const color = style.colors.get(inst.label_class) ?? "#cccccc";
    let g = groups.get(color);
    if (!g) {
      g = { fill: new Path2D(), line: new Path2D(), dashed: new Path2D() };
      groups.set(color, g);
    }
    for (const poly of rings) {
      for (const r of poly) {
        if (!r) continue;
        ringPath(g.fill, r);
        outlinePath(inst.is_suggestion ? g.dashed : g.line, r);
      }
    }
  }
  ctx.save();
  ctx.translate(0.5, 0.5);
  ctx.lineJoin = "round";
  for (const [color, g] of groups) {
    ctx.fillStyle = hexToRgba(color, style.fillAlpha);
    ctx.fill(g.fill, "evenodd");
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.setLineDash([]);
    ctx.stroke(g.line);
    ctx.setLineDash([7, 5]);
    ctx.stroke(g.dashed);
    ctx.setLineDash([]);
  }
  if (selectedRings && selectedInst) drawSelected(ctx, selectedInst, selectedRings, style);
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

export function drawDraft(ctx: CanvasRenderingContext2D, view: View, draft: Draft): void {
  const pts = draft.points.map(([lon, lat]) => lonlatToVec(lon, lat));
  const path = new Path2D();
  const seg = (a: Vec3, b: Vec3) => {
    const s = projectSegment(view, a, b);
    if (s) {
      path.moveTo(s[0] + 0.5, s[1] + 0.5);
      path.lineTo(s[2] + 0.5, s[3] + 0.5);
    }
  };
  for (let i = 0; i + 1 < pts.length; i++) seg(pts[i], pts[i + 1]);
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
