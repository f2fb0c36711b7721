/**
 * Spherical polygons with great-circle edges: clipping to a view, point-in-polygon,
 * areas, and the equirectangular drawing path (twin of label360.sphere's polygon code).
 */
import { View } from "./view";
import { LonLat, Vec3, add, angleBetween, arcPoints, cross, dot, lonlatToVec, norm, normalize, scale, sub, vecToLonlat } from "./vec";

export type Ring = LonLat[];
export type Polygon = Ring[];
export type Geometry = Polygon[];

/** Near "plane" of the z-clip (camera frame, unit vectors), as label360.sphere.clipping.Z_EPS. */
export const CLIP_EPS = 1e-6;

/** A vertex of a clipped ring in camera coordinates; `cut` marks the edge that leaves it as a clip edge. */
export interface ClipVertex {
  v: Vec3;
  cut: boolean;
}

/**
 * Inward normals n (camera frame) of the side half-spaces n·v >= 0: left, right, bottom, top
 * (same order as label360.sphere.clipping.frustum_planes). `marginPx` widens them (drawing only).
 */
export function frustumPlanes(view: View, marginPx = 0): Vec3[] {
  const tx = (view.width + 2 * marginPx) / (2 * view.focal);
  const ty = (view.height + 2 * marginPx) / (2 * view.focal);
  return [
    [1, 0, tx],
    [-1, 0, tx],
    [0, 1, ty],
    [0, -1, ty],
  ];
}

/** Point of the minor arc a→b (unit vectors) whose z-component is `z` (closed form). */
function arcAtZ(a: Vec3, b: Vec3, z: number): Vec3 {
  const theta = Math.atan2(norm(cross(a, b)), dot(a, b));
  let u = sub(b, scale(a, dot(a, b)));
  u = scale(u, 1 / norm(u));
  const r = Math.hypot(a[2], u[2]);
  const phi = Math.atan2(u[2], a[2]);
  const c = Math.min(1, Math.max(-1, z / r));
  for (let t of [phi + Math.acos(c), phi - Math.acos(c)]) {
    t = ((t % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
    if (t >= -1e-12 && t <= theta + 1e-12) return add(scale(a, Math.cos(t)), scale(u, Math.sin(t)));
  }
  return Math.abs(a[2] - z) < Math.abs(b[2] - z) ? a : b;
}

/**
 * Sutherland–Hodgman on the sphere (twin of clip_ring_halfspaces): clip a ring of camera-frame
 * unit vectors with minor-arc edges, first by z >= zEps, then by the half-spaces n·v >= 0.
 * Crossings with a plane through the origin are |db|·a + |da|·b normalised (on the arc); the
 * z-crossing is solved exactly on the arc. New edges along a boundary are flagged `cut`.
 */
export function clipRing(ring: ClipVertex[], planes: Vec3[], zEps: number | null = CLIP_EPS): ClipVertex[] {
  let pts = ring;
  const checks: [Vec3, number][] = [];
  if (zEps !== null) checks.push([[0, 0, 1], zEps]);
  for (const n of planes) checks.push([n, 0]);
  for (const [n, off] of checks) {
    if (pts.length === 0) break;
    const out: ClipVertex[] = [];
    const m = pts.length;
    const d = pts.map((p) => dot(p.v, n) - off);
    for (let k = 0; k < m; k++) {
      const a = pts[k];
      const b = pts[(k + 1) % m];
      const da = d[k];
      const db = d[(k + 1) % m];
      if (da >= 0) out.push(a);
      if (da >= 0 !== db >= 0) {
        const x = off === 0 ? add(scale(a.v, Math.abs(db)), scale(b.v, Math.abs(da))) : arcAtZ(a.v, b.v, off);
        // leaving: the edge from the crossing runs along the boundary (cut);
        // entering: it is the rest of the original edge a→b (a's flag).
        out.push({ v: scale(x, 1 / norm(x)), cut: da >= 0 ? true : a.cut });
      }
    }
    pts = out;
  }
  return pts;
}

/** A ring clipped to a view: pixel coordinates, with clip-edge flags. */
export interface ProjectedRing {
  pts: number[]; // x0, y0, x1, y1, ...
  cut: boolean[]; // cut[i]: the edge from point i to point i+1 lies on the frustum boundary
}

/** Project a ring into a view after clipping it to the frustum; null when fewer than 3 vertices remain. */
export function projectRing(view: View, ring: Ring, marginPx = 0): ProjectedRing | null {
  const cam: ClipVertex[] = ring.map(([lon, lat]) => ({ v: view.toCamera(lonlatToVec(lon, lat)), cut: false }));
  return projectCameraRing(view, cam, frustumPlanes(view, marginPx));
}

export function projectCameraRing(view: View, cam: ClipVertex[], planes: Vec3[]): ProjectedRing | null {
  const clipped = clipRing(cam, planes);
  if (clipped.length < 3) return null;
  const pts: number[] = [];
  const cut: boolean[] = [];
  const f = view.focal;
  for (const c of clipped) {
    pts.push((c.v[0] / c.v[2]) * f + view.width / 2 - 0.5, (-c.v[1] / c.v[2]) * f + view.height / 2 - 0.5);
    cut.push(c.cut);
  }
  return { pts, cut };
}

/** Exact pixel polygons of a geometry in a view (twin of geometry_to_view): [[outer, hole...], ...] of [x, y]. */
export function geometryToView(geometry: Geometry, view: View): [number, number][][][] {
  const out: [number, number][][][] = [];
  for (const part of geometry) {
    const rings: [number, number][][] = [];
    for (let k = 0; k < part.length; k++) {
      const r = projectRing(view, part[k]);
      if (!r) {
        if (k === 0) break;
        continue;
      }
      const xy: [number, number][] = [];
      for (let i = 0; i < r.pts.length; i += 2) xy.push([r.pts[i], r.pts[i + 1]]);
      rings.push(xy);
    }
    if (rings.length) out.push(rings);
  }
  return out;
}

/** Unit vectors of a ring. */
export function ringVecs(ring: Ring): Vec3[] {
  return ring.map(([lon, lat]) => lonlatToVec(lon, lat));
}

/**
 * Signed area (sr) in (−2π, 2π] of a closed ring of unit vectors (twin of ring_signed_area):
 * positive when the smaller region is on the left. Van Oosterom–Strackee triangle solid angles
 * about a centre c, with differences (a − c), (b − c) for precision on tiny rings.
 */
export function ringSignedArea(v: Vec3[]): number {
  const n = v.length;
  let c: Vec3 = [0, 0, 0];
  for (const p of v) c = add(c, p);
  let nc = norm(c);
  if (nc < 1e-3 * n) {
    c = [0, 0, 0];
    for (let i = 0; i < n; i++) c = add(c, cross(v[i], v[(i + 1) % n]));
    nc = norm(c);
  }
  c = nc > 0 ? scale(c, 1 / nc) : [0, 0, 1];
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = v[i];
    const b = v[(i + 1) % n];
    const num = dot(cross(sub(a, c), sub(b, c)), c);
    const den = 1 + dot(a, b) + dot(b, c) + dot(a, c);
    s += 2 * Math.atan2(num, den);
  }
  return s - 4 * Math.PI * roundHalfEven(s / (4 * Math.PI));
}

/** Python's round(): halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The ring's vectors ordered counter-clockwise around its (smaller) interior. */
export function orientedRing(v: Vec3[]): Vec3[] {
  return ringSignedArea(v) >= 0 ? v : v.slice().reverse();
}

/** Area (sr) of the smaller region bounded by a ring. */
export function ringArea(ring: Ring): number {
  return Math.abs(ringSignedArea(ringVecs(ring)));
}

/** Area (sr) of a polygon (outer minus holes) and of a geometry (sum of parts). */
export function polygonArea(polygon: Polygon): number {
  let area = ringArea(polygon[0]);
  for (const hole of polygon.slice(1)) area -= ringArea(hole);
  return area;
}

export function geometryArea(geometry: Geometry): number {
  return geometry.reduce((s, p) => s + polygonArea(p), 0);
}

/** Do minor arcs a–b and c–d cross at an interior point? (twin of arcs_cross) */
export function arcsCross(a: Vec3, b: Vec3, c: Vec3, d: Vec3): boolean {
  const n1 = cross(a, b);
  const n2 = cross(c, d);
  const s1 = dot(n1, c) * dot(n1, d);
  const s2 = dot(n2, a) * dot(n2, b);
  const p = cross(n1, n2);
  const same = dot(p, add(a, b)) * dot(p, add(c, d));
  return s1 < 0 && s2 < 0 && same > 0;
}

/**
 * Is p strictly inside a counter-clockwise ring (twin of _contains_ring)? Walk the minor arc from
 * p to the midpoint of the nearest edge; the side of that edge decides, each crossing flips it.
 */
export function containsRingCcw(ring: Vec3[], p: Vec3): boolean {
  const n = ring.length;
  let e = 0;
  let best = -Infinity;
  const mids: Vec3[] = [];
  for (let i = 0; i < n; i++) {
    const m = add(ring[i], ring[(i + 1) % n]);
    const mm = scale(m, 1 / norm(m));
    mids.push(mm);
    const d = dot(p, mm);
    if (d > best) {
      best = d;
      e = i;
    }
  }
  const m = mids[e];
  const side = dot(cross(ring[e], ring[(e + 1) % n]), p) > 0;
  let crossings = 0;
  for (let i = 0; i < n; i++) {
    if (i === e) continue;
    if (arcsCross(p, m, ring[i], ring[(i + 1) % n])) crossings += 1;
  }
  return side !== (crossings % 2 === 1);
}

/** Is p inside the smaller region bounded by the ring? */
export function pointInRing(p: Vec3, vs: Vec3[]): boolean {
  return containsRingCcw(orientedRing(vs), p);
}

export function pointInPolygon(p: Vec3, polygon: Polygon): boolean {
  if (!pointInRing(p, ringVecs(polygon[0]))) return false;
  return !polygon.slice(1).some((hole) => pointInRing(p, ringVecs(hole)));
}

export function pointInGeometry(p: Vec3, geometry: Geometry): boolean {
  return geometry.some((poly) => pointInPolygon(p, poly));
}

/** Great-circle interpolation of an arc as [lon, lat] points every `stepDeg` (ends included). */
export function interpolateArc(a: LonLat, b: LonLat, stepDeg: number): LonLat[] {
  const va = lonlatToVec(a[0], a[1]);
  const vb = lonlatToVec(b[0], b[1]);
  const theta = angleBetween(va, vb) * (180 / Math.PI);
  const n = Math.max(2, Math.ceil(theta / stepDeg) + 1);
  return arcPoints(va, vb, n).map(vecToLonlat);
}

/**
 * The drawing path of a ring on an equirectangular map: a densified, lon-unwrapped
 * polyline (continuous across the ±180° seam). `pole` is +1/−1 when the ring winds around
 * that pole (the path then ends 360° away from where it starts and the fill must be closed
 * through the pole), 0 otherwise. Draw it at lon offsets −360, 0, +360 to cover the seam.
 */
export interface EquirectPath {
  lonlat: number[]; // lon0, lat0, lon1, lat1, ... (lon unwrapped)
  pole: number;
  minLon: number;
  maxLon: number;
}

export function equirectPath(ring: Ring, stepDeg = 2): EquirectPath {
  const out: number[] = [];
  const m = ring.length;
  let prev: number | null = null;
  let minLon = Infinity;
  let maxLon = -Infinity;
  for (let i = 0; i < m; i++) {
    const pts = interpolateArc(ring[i], ring[(i + 1) % m], stepDeg);
    for (let k = 0; k < pts.length - 1; k++) {
      let [lon, lat] = pts[k];
      if (prev !== null) {
        while (lon - prev > 180) lon -= 360;
        while (lon - prev < -180) lon += 360;
      }
      prev = lon;
      out.push(lon, lat);
      if (lon < minLon) minLon = lon;
      if (lon > maxLon) maxLon = lon;
    }
  }
  // Close: compare the unwrapped start with where the path comes back.
  let pole = 0;
  if (out.length >= 4 && prev !== null) {
    let back = out[0];
    while (back - prev > 180) back -= 360;
    while (back - prev < -180) back += 360;
    const drift = back - out[0];
    if (Math.abs(drift) > 180) {
      // the ring winds around a pole: the one inside the smaller region
      const vs = ringVecs(ring);
      const north = pointInRing([0, 1, 0], vs);
      pole = north ? 1 : -1;
    }
  }
  return { lonlat: out, pole, minLon, maxLon };
}

/** Bounding cone of a set of unit vectors: centre direction and angular radius (radians). */
export function boundingCone(vs: Vec3[]): { centre: Vec3; radius: number } {
  let c: Vec3 = [0, 0, 0];
  for (const v of vs) c = add(c, v);
  if (Math.hypot(c[0], c[1], c[2]) < 1e-9) return { centre: [0, 0, 1], radius: Math.PI };
  const centre = normalize(c);
  let radius = 0;
  for (const v of vs) radius = Math.max(radius, angleBetween(centre, v));
  return { centre, radius };
}
