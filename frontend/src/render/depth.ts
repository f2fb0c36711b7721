/**
 * Depth in the workspace: the panorama's equirect depth map (float32 NPY, distance
 * along the ray, docs/jobs.md) and optional normals (float32 NPY H×W×3, unit, facing the
 * camera). Used for the depth-warped cursor (a disc of fixed metric radius lying in the surface's
 * tangent plane, projected with the view's gnomonic projection) and the colourised depth view of
 * the equirect viewer.
 *
 * Pixel (row r, column c) of an H×W equirect map looks along lon = (c + 0.5)/W·360 − 180,
 * lat = 90 − (r + 0.5)/H·180 (label360.sphere.projection.equirect_directions).
 */
import { Vec3, View, cross, dot, lonlatToVec, normalize, scale, sub, add } from "../sphere";

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** Parse a little-endian float32 (or float64, converted) C-order NPY file (format 1.0–3.0). */
export function parseNpy(buffer: ArrayBuffer): NpyArray {
  const bytes = new Uint8Array(buffer);
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error("not an NPY file");
  const major = bytes[6];
  const dv = new DataView(buffer);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = dv.getUint32(8, true);
    offset = 12;
  } else throw new Error(`unsupported NPY version ${major}`);
  const header = new TextDecoder("latin1").decode(bytes.subarray(offset, offset + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error("malformed NPY header");
  if (fortran === "True") throw new Error("Fortran-order NPY is not supported");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  let data: Float32Array;
  if (descr === "<f4" || (descr === "|f4")) {
    if (buffer.byteLength < start + 4 * count) throw new Error("truncated NPY data");
    data = start % 4 === 0 ? new Float32Array(buffer, start, count) : new Float32Array(buffer.slice(start, start + 4 * count));
  } else if (descr === "<f8") {
    if (buffer.byteLength < start + 8 * count) throw new Error("truncated NPY data");
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat64(start + 8 * i, true);
  } else throw new Error(`unsupported NPY dtype ${descr} (float32 expected)`);
  return { shape, data };
}

/** A surface sample: distance along the ray, the 3-D point and the unit normal (world frame). */
export interface SurfaceHit {
  distance: number;
  point: Vec3;
  normal: Vec3;
}

export class DepthMap {
  readonly width: number;
  readonly height: number;

  constructor(
    readonly depth: Float32Array,
    width: number,
    height: number,
    /** H×W×3 unit normals, or null: computed from the depth as the server does. */
    readonly normals: Float32Array | null = null,
  ) {
    if (depth.length !== width * height) throw new Error("depth size does not match its shape");
    if (normals && normals.length !== width * height * 3) throw new Error("normals do not match the depth map");
    this.width = width;
    this.height = height;
  }

  static fromNpy(depth: NpyArray, normals: NpyArray | null): DepthMap {
    if (depth.shape.length !== 2) throw new Error(`depth must be H×W, got ${depth.shape.join("×")}`);
    const [h, w] = depth.shape;
    let n: Float32Array | null = null;
    if (normals && normals.shape.length === 3 && normals.shape[0] === h && normals.shape[1] === w && normals.shape[2] === 3) n = normals.data;
    return new DepthMap(depth.data, w, h, n);
  }

  /** Column and row (integer) of the pixel containing direction v. */
  pixelOf(v: Vec3): [number, number] {
    const lon = Math.atan2(v[0], v[2]);
    const lat = Math.atan2(v[1], Math.hypot(v[0], v[2]));
    let c = Math.floor(((lon + Math.PI) / (2 * Math.PI)) * this.width);
    let r = Math.floor(((Math.PI / 2 - lat) / Math.PI) * this.height);
    c = ((c % this.width) + this.width) % this.width;
    r = Math.max(0, Math.min(this.height - 1, r));
    return [c, r];
  }

  /** Unit direction of pixel (c, r)'s centre. */
  direction(c: number, r: number): Vec3 {
    const lon = ((c + 0.5) / this.width) * 360 - 180;
    const lat = 90 - ((r + 0.5) / this.height) * 180;
    return lonlatToVec(lon, lat);
  }

  at(c: number, r: number): number {
    c = ((c % this.width) + this.width) % this.width;
    r = Math.max(0, Math.min(this.height - 1, r));
    return this.depth[r * this.width + c];
  }

  private pointAt(c: number, r: number): Vec3 {
    const cc = ((c % this.width) + this.width) % this.width;
    const rr = Math.max(0, Math.min(this.height - 1, r));
    return scale(this.direction(cc, rr), this.at(cc, rr));
  }

  /** Normal of pixel (c, r): the stored one, else central differences (wrapping east–west). */
  normalAt(c: number, r: number): Vec3 {
    if (this.normals) {
      const i = 3 * (r * this.width + c);
      const n: Vec3 = [this.normals[i], this.normals[i + 1], this.normals[i + 2]];
      const len = Math.hypot(n[0], n[1], n[2]);
      if (len > 0.5) return scale(n, 1 / len);
    }
    const dLon = sub(this.pointAt(c + 1, r), this.pointAt(c - 1, r));
    const r0 = Math.max(0, r - 1);
    const r1 = Math.min(this.height - 1, r + 1);
    const dLat = sub(this.pointAt(c, r1), this.pointAt(c, r0));
    let n = cross(dLon, dLat);
    const len = Math.hypot(n[0], n[1], n[2]);
    const p = this.pointAt(c, r);
    if (!(len > 0)) return normalize(scale(p, -1));
    n = scale(n, 1 / len);
    return dot(n, p) > 0 ? scale(n, -1) : n; // facing the camera
  }

  /** The surface along world direction v (unit), or null where the depth is not finite. */
  hit(v: Vec3): SurfaceHit | null {
    const [c, r] = this.pixelOf(v);
    const d = this.at(c, r);
    if (!(d > 0) || !Number.isFinite(d)) return null;
    return { distance: d, point: scale(v, d), normal: this.normalAt(c, r) };
  }

  /** Robust range of inverse depth (1st and 99th percentile of a strided sample). */
  inverseRange(): [number, number] {
    const n = this.depth.length;
    const step = Math.max(1, Math.floor(n / 50000));
    const vals: number[] = [];
    for (let i = 0; i < n; i += step) {
      const d = this.depth[i];
      if (d > 0 && Number.isFinite(d)) vals.push(1 / d);
    }
    if (!vals.length) return [0, 1];
    vals.sort((a, b) => a - b);
    const lo = vals[Math.floor(0.01 * (vals.length - 1))];
    const hi = vals[Math.floor(0.99 * (vals.length - 1))];
    return hi > lo ? [lo, hi] : [lo, lo + 1e-6];
  }

  /**
   * A colourised inverse-depth image (near = warm, turbo colour map, as the server's
   * depth_preview) of at most maxWidth columns (box-averaged inverse depth).
   */
  colorize(maxWidth = 1024): ImageData {
    const k = Math.max(1, Math.ceil(this.width / maxWidth));
    const w = Math.floor(this.width / k);
    const h = Math.floor(this.height / k);
    const [lo, hi] = this.inverseRange();
    const out = new ImageData(w, h);
    const px = out.data;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let sum = 0;
        let cnt = 0;
        for (let dy = 0; dy < k; dy++) {
          const row = (y * k + dy) * this.width;
          for (let dx = 0; dx < k; dx++) {
            const d = this.depth[row + x * k + dx];
            if (d > 0 && Number.isFinite(d)) {
              sum += 1 / d;
              cnt++;
            }
          }
        }
        const o = 4 * (y * w + x);
        if (!cnt) {
          px[o] = px[o + 1] = px[o + 2] = 0;
          px[o + 3] = 255;
          continue;
        }
        const [r, g, b] = turbo((sum / cnt - lo) / (hi - lo));
        px[o] = r;
        px[o + 1] = g;
        px[o + 2] = b;
        px[o + 3] = 255;
      }
    }
    return out;
  }
}

/** Google's Turbo colour map (polynomial approximation), t in [0, 1] -> RGB bytes. */
export function turbo(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t));
  const r = 0.13572138 + x * (4.6153926 + x * (-42.66032258 + x * (132.13108234 + x * (-152.94239396 + x * 59.28637943))));
  const g = 0.09140261 + x * (2.19418839 + x * (4.84296658 + x * (-14.18503333 + x * (4.27729857 + x * 2.82956604))));
  const b = 0.1066733 + x * (12.64194608 + x * (-60.58204836 + x * (110.36276771 + x * (-89.90310912 + x * 27.34824973))));
  const c = (v: number) => Math.round(255 * Math.max(0, Math.min(1, v)));
  return [c(r), c(g), c(b)];
}

/** Metric radius of the cursor disc (depth units: metres for the geometric prior). */
export const CURSOR_RADIUS = 0.25;
/** The disc's angular radius is kept in this range so it stays visible near and far. */
const MIN_ANGLE = 0.4 * (Math.PI / 180);
const MAX_ANGLE = 15 * (Math.PI / 180);

export interface SurfaceCursor {
  /** Projected disc outline (pixels, x0 y0 x1 y1 …), closed. */
  outline: number[];
  /** Projected centre and tip of the normal (length = the disc radius). */
  centre: [number, number];
  tip: [number, number] | null;
  distance: number;
  normal: Vec3;
  radius: number;
  /** Lengths of the projected ellipse's longest and shortest half-axes (pixels). */
  major: number;
  minor: number;
}

/**
 * The cursor disc at the surface under view pixel (x, y): P = distance · ray; a circle of
 * CURSOR_RADIUS in the plane through P perpendicular to the normal, projected with the view's
 * gnomonic projection (an ellipse). Null when there is no depth there or the disc is not in front.
 */
export function surfaceCursor(view: View, depth: DepthMap, x: number, y: number, segments = 48): SurfaceCursor | null {
  const ray = view.pixelToVec(x, y);
  const hit = depth.hit(ray);
  if (!hit) return null;
  const n = hit.normal;
  const radius = Math.min(Math.max(CURSOR_RADIUS, hit.distance * Math.tan(MIN_ANGLE)), hit.distance * Math.tan(MAX_ANGLE));
  // tangent basis of the plane ⟂ n
  const helper: Vec3 = Math.abs(n[1]) < 0.9 ? [0, 1, 0] : [1, 0, 0];
  const u = normalize(cross(n, helper));
  const w = cross(n, u);
  const outline: number[] = [];
  for (let k = 0; k < segments; k++) {
    const t = (2 * Math.PI * k) / segments;
    const q = add(hit.point, add(scale(u, radius * Math.cos(t)), scale(w, radius * Math.sin(t))));
    const px = view.vecToPixel(q);
    if (!px) return null;
    outline.push(px[0], px[1]);
  }
  const centre = view.vecToPixel(hit.point);
  if (!centre) return null;
  const tip = view.vecToPixel(add(hit.point, scale(n, radius)));
  let major = 0;
  let minor = Infinity;
  for (let k = 0; k < segments / 2; k++) {
    // opposite points of the circle: the chord through the projected centre approximates the axes
    const a = [outline[2 * k], outline[2 * k + 1]];
    const b = [outline[2 * (k + segments / 2)], outline[2 * (k + segments / 2) + 1]];
    const len = Math.hypot(a[0] - b[0], a[1] - b[1]) / 2;
    major = Math.max(major, len);
    minor = Math.min(minor, len);
  }
  return { outline, centre, tip, distance: hit.distance, normal: n, radius, major, minor };
}

/** Draw the cursor disc: filled lightly, dark-then-light outline, normal tick. */
export function drawSurfaceCursor(ctx: CanvasRenderingContext2D, c: SurfaceCursor): void {
  const path = new Path2D();
  path.moveTo(c.outline[0], c.outline[1]);
  for (let i = 2; i < c.outline.length; i += 2) path.lineTo(c.outline[i], c.outline[i + 1]);
  path.closePath();
  ctx.save();
  ctx.fillStyle = "rgba(80,200,255,0.18)";
  ctx.fill(path);
  ctx.lineWidth = 3.5;
  ctx.strokeStyle = "rgba(0,0,0,0.55)";
  ctx.stroke(path);
  ctx.lineWidth = 1.5;
  ctx.strokeStyle = "#5fd3ff";
  ctx.stroke(path);
  if (c.tip) {
    ctx.beginPath();
    ctx.moveTo(c.centre[0], c.centre[1]);
    ctx.lineTo(c.tip[0], c.tip[1]);
    ctx.lineWidth = 3;
    ctx.strokeStyle = "rgba(0,0,0,0.55)";
    ctx.stroke();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
  }
  ctx.fillStyle = "#ffffff";
  ctx.beginPath();
  ctx.arc(c.centre[0], c.centre[1], 2, 0, 2 * Math.PI);
  ctx.fill();
  ctx.restore();
}

/** Fetch and parse an NPY file (same origin, session cookie). */
export async function fetchNpy(url: string): Promise<NpyArray> {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return parseNpy(await response.arrayBuffer());
}
