/**
 * Culling and projection of prepared instances in one rectilinear view, fast enough for
 * thousands of instances per frame.
 *
 * Each instance's bounding cap (its cone on the sphere) is tested against the half-spaces of
 * the view frustum: a cap wholly outside one of them is culled; a cap wholly inside all of them
 * needs no clipping, so its vertices go straight from the packed unit vectors through the
 * camera rotation into the path; only a cap that straddles a boundary is clipped, and only by
 * the planes it straddles (clipping by a plane a ring lies wholly inside changes nothing, so
 * the result is the full 3-D Sutherland–Hodgman clip of `sphere/polygon.ts`, in the same order).
 */
import { CLIP_EPS, ClipVertex, ProjectedRing, Vec3, View, clipRing, frustumPlanes } from "../sphere";
import type { Prepared } from "./prepared";

/** Anything rings can be appended to: a Path2D, or a recorder in tests. */
export interface PathSink {
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
}

/** Where one instance's visible rings go. */
export interface RingSinks {
  /** Rings drawn whole: filled and outlined with this one path. */
  whole: PathSink;
  /** Rings cut by the frustum: filled here ... */
  clippedFill: PathSink;
  /** ... and outlined here, without the edges that run along the frustum boundary. */
  clippedLine: PathSink;
}

export const CULLED = -1;
const Z_BIT = 1 << 4;
/** Rounding allowance of the cap tests (radians, about 2e-4 px on a 4K-wide 90° view). */
const SLACK = 1e-7;

export class ViewProjector {
  /** Row-major world → camera rotation (the transpose of the view's camera → world). */
  private readonly m: Float64Array;
  /** Unit inward normals of the side planes (left, right, bottom, top), packed. */
  private readonly units: Float64Array;
  /** The same planes unnormalised, as `clipRing` takes them. */
  readonly planes: Vec3[];
  private readonly f: number;
  private readonly ox: number;
  private readonly oy: number;
  private readonly lo: [number, number];
  private readonly hi: [number, number];

  constructor(readonly view: View, marginPx: number) {
    const r = view.rotation;
    this.m = Float64Array.of(r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]);
    this.planes = frustumPlanes(view, marginPx);
    this.units = new Float64Array(12);
    this.planes.forEach((n, k) => {
      const len = Math.hypot(n[0], n[1], n[2]);
      for (let i = 0; i < 3; i++) this.units[3 * k + i] = n[i] / len;
    });
    this.f = view.focal;
    this.ox = view.width / 2 - 0.5;
    this.oy = view.height / 2 - 0.5;
    // where the side planes meet the image: x = lo[0] (left), hi[0] (right); y = hi[1] (bottom), lo[1] (top)
    const tx = this.planes[0][2];
    const ty = this.planes[2][2];
    this.lo = [-tx * this.f + this.ox, -ty * this.f + this.oy];
    this.hi = [tx * this.f + this.ox, ty * this.f + this.oy];
  }

  /**
   * CULLED when the instance's cap lies wholly outside the frustum's half-spaces (z > 0 and the
   * four sides); else a bit mask of the planes it straddles (bits 0–3 the sides, 4 the z
   * plane): 0 means the instance lies wholly inside and needs no clipping.
   */
  classify(prep: Prepared): number {
    const c = prep.centre;
    return this.classifyCap(c[0], c[1], c[2], prep.sinRadius);
  }

  /** `classify` of a cap given by its world centre and the sine of its radius (> 1: a hemisphere or more). */
  classifyCap(wx: number, wy: number, wz: number, s: number): number {
    if (s > 1) return 0b11111; // no half-space holds it: clip by all
    const m = this.m;
    const cx = m[0] * wx + m[1] * wy + m[2] * wz;
    const cy = m[3] * wx + m[4] * wy + m[5] * wz;
    const cz = m[6] * wx + m[7] * wy + m[8] * wz;
    // the signed distance of the cap's centre to a plane through the origin is asin(n·c)
    let mask = 0;
    if (cz < -s - SLACK) return CULLED;
    if (cz < s + CLIP_EPS + SLACK) mask |= Z_BIT;
    const u = this.units;
    for (let k = 0; k < 4; k++) {
      const d = u[3 * k] * cx + u[3 * k + 1] * cy + u[3 * k + 2] * cz;
      if (d < -s - SLACK) return CULLED;
      if (d < s + SLACK) mask |= 1 << k;
    }
    return mask;
  }

  /** Append the instance's visible rings to the sinks; false when none is visible. */
  append(prep: Prepared, sinks: RingSinks, mask = this.classify(prep)): boolean {
    if (mask === CULLED) return false;
    if (mask === 0) {
      for (const poly of prep.rings) for (const ring of poly) this.appendWhole(ring.flat, sinks.whole);
      return true;
    }
    let any = false;
    for (const poly of prep.rings) {
      for (const ring of poly) {
        const n = this.clip(ring.flat, mask);
        if (n < 3) continue;
        any = true;
        const { x, y, cut } = this.out;
        let cuts = false;
        for (let i = 0; i < n; i++) cuts ||= cut[i] === 1;
        const fill = cuts ? sinks.clippedFill : sinks.whole;
        fill.moveTo(x[0], y[0]);
        for (let i = 1; i < n; i++) fill.lineTo(x[i], y[i]);
        fill.lineTo(x[0], y[0]);
        if (!cuts) continue;
        let pen = false;
        for (let i = 0; i < n; i++) {
          const j = i + 1 === n ? 0 : i + 1;
          if (cut[i]) {
            pen = false;
            continue;
          }
          if (!pen) sinks.clippedLine.moveTo(x[i], y[i]);
          sinks.clippedLine.lineTo(x[j], y[j]);
          pen = true;
        }
      }
    }
    return any;
  }

  /** A ring wholly inside the frustum, projected straight into the path (closed). */
  private appendWhole(flat: Float64Array, sink: PathSink): void {
    const m = this.m;
    const { f, ox, oy } = this;
    let x0 = 0;
    let y0 = 0;
    for (let i = 0; i < flat.length; i += 3) {
      const x = flat[i];
      const y = flat[i + 1];
      const z = flat[i + 2];
      const iz = f / (m[6] * x + m[7] * y + m[8] * z);
      const px = (m[0] * x + m[1] * y + m[2] * z) * iz + ox;
      const py = -(m[3] * x + m[4] * y + m[5] * z) * iz + oy;
      if (i === 0) sink.moveTo((x0 = px), (y0 = py));
      else sink.lineTo(px, py);
    }
    sink.lineTo(x0, y0); // closed by hand: see ringPath
  }

  /** A ring clipped by the planes of `mask`, in pixels (null: fewer than 3 vertices left). */
  clipped(flat: Float64Array, mask: number): ProjectedRing | null {
    const n = this.clip(flat, mask);
    if (n < 3) return null;
    const pts: number[] = [];
    const cut: boolean[] = [];
    for (let i = 0; i < n; i++) {
      pts.push(this.out.x[i], this.out.y[i]);
      cut.push(this.out.cut[i] === 1);
    }
    return { pts, cut };
  }

  /** Scratch rings of the clipper (reused: a frame allocates nothing per ring). */
  private out = new Scratch();
  private tmp = new Scratch();

  /**
   * Clip a ring by the planes of `mask` into `this.out`; returns its vertex count.
   *
   * When the ring lies in front of the camera (no z bit) it is projected first and clipped in
   * the image by the lines the side planes project to: a minor arc in front of the camera
   * projects to the segment between its ends, and its crossing with a plane through the origin
   * to the segment's crossing with that line, so this is the 3-D clip, without allocating.
   * Near the z plane the 3-D clip (`clipRing`, exact arc crossings) is used as it is.
   */
  private clip(flat: Float64Array, mask: number): number {
    const m = this.m;
    const count = flat.length / 3;
    if (mask & Z_BIT) {
      const cam: ClipVertex[] = [];
      for (let i = 0; i < flat.length; i += 3) {
        const x = flat[i];
        const y = flat[i + 1];
        const z = flat[i + 2];
        cam.push({ v: [m[0] * x + m[1] * y + m[2] * z, m[3] * x + m[4] * y + m[5] * z, m[6] * x + m[7] * y + m[8] * z], cut: false });
      }
      const planes = this.planes.filter((_, k) => mask & (1 << k));
      const res = clipRing(cam, planes, CLIP_EPS);
      this.out.reserve(res.length);
      res.forEach((c, i) => {
        this.out.x[i] = (c.v[0] / c.v[2]) * this.f + this.ox;
        this.out.y[i] = (-c.v[1] / c.v[2]) * this.f + this.oy;
        this.out.cut[i] = c.cut ? 1 : 0;
      });
      return res.length;
    }
    let src = this.tmp;
    let dst = this.out;
    // each plane writes into the other buffer: with an even number, start in `out` so the
    // result ends there
    let planes = 0;
    for (let k = 0; k < 4; k++) if (mask & (1 << k)) planes += 1;
    if (planes % 2 === 0) [src, dst] = [dst, src];
    src.reserve(count);
    const { f, ox, oy } = this;
    for (let i = 0, j = 0; i < flat.length; i += 3, j++) {
      const x = flat[i];
      const y = flat[i + 1];
      const z = flat[i + 2];
      const iz = f / (m[6] * x + m[7] * y + m[8] * z);
      src.x[j] = (m[0] * x + m[1] * y + m[2] * z) * iz + ox;
      src.y[j] = -(m[3] * x + m[4] * y + m[5] * z) * iz + oy;
      src.cut[j] = 0;
    }
    let n = count;
    for (let k = 0; k < 4 && n > 0; k++) {
      if (!(mask & (1 << k))) continue;
      // the plane's line in the image and the side kept: d >= 0 inside
      const vertical = k < 2;
      const sign = k === 0 || k === 3 ? 1 : -1;
      const at = k === 0 || k === 3 ? this.lo[k === 0 ? 0 : 1] : this.hi[k === 1 ? 0 : 1];
      dst.reserve(2 * n);
      let out = 0;
      const sx = src.x;
      const sy = src.y;
      for (let a = 0; a < n; a++) {
        const b = a + 1 === n ? 0 : a + 1;
        const da = sign * ((vertical ? sx[a] : sy[a]) - at);
        const db = sign * ((vertical ? sx[b] : sy[b]) - at);
        if (da >= 0) {
          dst.x[out] = sx[a];
          dst.y[out] = sy[a];
          dst.cut[out++] = src.cut[a];
        }
        if (da >= 0 !== db >= 0) {
          const t = Math.abs(da) / (Math.abs(da) + Math.abs(db));
          dst.x[out] = sx[a] + t * (sx[b] - sx[a]);
          dst.y[out] = sy[a] + t * (sy[b] - sy[a]);
          // leaving: the edge from the crossing runs along the boundary; entering: a's flag
          dst.cut[out++] = da >= 0 ? 1 : src.cut[a];
        }
      }
      n = out;
      [src, dst] = [dst, src];
    }
    return n;
  }
}

/** Growable x, y, cut-flag buffers of a ring. */
class Scratch {
  x = new Float64Array(64);
  y = new Float64Array(64);
  cut = new Uint8Array(64);

  reserve(n: number): void {
    if (n <= this.x.length) return;
    const size = Math.max(n, 2 * this.x.length);
    const grow = <T extends Float64Array | Uint8Array>(a: T, b: T): T => (b.set(a), b);
    this.x = grow(this.x, new Float64Array(size));
    this.y = grow(this.y, new Float64Array(size));
    this.cut = grow(this.cut, new Uint8Array(size));
  }
}

/**
 * A projected ring as a sub-path back to its first point. Not closePath(): Chromium's computes
 * the bounding box of the whole path on every call, which made one path per class quadratic
 * in its size (a fill closes sub-paths anyway; strokes use round caps, so the start looks joined).
 */
export function ringPath(path: PathSink, r: ProjectedRing): void {
  const p = r.pts;
  path.moveTo(p[0], p[1]);
  for (let i = 2; i < p.length; i += 2) path.lineTo(p[i], p[i + 1]);
  path.lineTo(p[0], p[1]);
}

/** A projected ring's outline without its edges along the frustum boundary. */
export function outlinePath(path: PathSink, r: ProjectedRing): void {
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
