/**
 * Directions on the sphere (twin of label360.sphere.vectors).
 * (lon, lat) degrees, lon in [-180, 180) east-positive, lat up;
 * x = cos(lat) sin(lon), y = sin(lat), z = cos(lat) cos(lon).
 */
export type Vec3 = [number, number, number];
export type LonLat = [number, number];
/** Row-major 3x3 matrix. */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export const DEG = Math.PI / 180;

export function wrapLon(lon: number): number {
  let out = ((((lon + 180) % 360) + 360) % 360) - 180;
  if (out >= 180) out -= 360;
  return out;
}

export function lonlatToVec(lon: number, lat: number): Vec3 {
  const a = lon * DEG;
  const b = lat * DEG;
  const c = Math.cos(b);
  return [c * Math.sin(a), Math.sin(b), c * Math.cos(a)];
}

export function vecToLonlat(v: Vec3): LonLat {
  const [x, y, z] = v;
  const lon = wrapLon(Math.atan2(x, z) / DEG);
  const lat = Math.atan2(y, Math.hypot(x, z)) / DEG;
  return [lon, lat];
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export function norm(a: Vec3): number {
  return Math.hypot(a[0], a[1], a[2]);
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  return [a[0] / n, a[1] / n, a[2] / n];
}

export function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

export function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function scale(a: Vec3, s: number): Vec3 {
  return [a[0] * s, a[1] * s, a[2] * s];
}

/** Angle in radians between two vectors (atan2 form). */
export function angleBetween(a: Vec3, b: Vec3): number {
  return Math.atan2(norm(cross(a, b)), dot(a, b));
}

/** Right-handed rotation about +x: maps +z towards -y for deg > 0. */
export function rotX(deg: number): Mat3 {
  const c = Math.cos(deg * DEG);
  const s = Math.sin(deg * DEG);
  return [1, 0, 0, 0, c, -s, 0, s, c];
}

/** Right-handed rotation about +y: maps +z towards +x (east) for deg > 0. */
export function rotY(deg: number): Mat3 {
  const c = Math.cos(deg * DEG);
  const s = Math.sin(deg * DEG);
  return [c, 0, s, 0, 1, 0, -s, 0, c];
}

/** Rotation about +z, clockwise as seen looking along +z: maps +y towards +x for deg > 0. */
export function rotZ(deg: number): Mat3 {
  const c = Math.cos(deg * DEG);
  const s = Math.sin(deg * DEG);
  return [c, s, 0, -s, c, 0, 0, 0, 1];
}

export function matMul(a: Mat3, b: Mat3): Mat3 {
  const out = new Array(9).fill(0) as Mat3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
    }
  }
  return out;
}

/** m · v */
export function matVec(m: Mat3, v: Vec3): Vec3 {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
    m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
  ];
}

/** mᵀ · v (world → camera for a camera-to-world rotation m). */
export function matTVec(m: Mat3, v: Vec3): Vec3 {
  return [
    m[0] * v[0] + m[3] * v[1] + m[6] * v[2],
    m[1] * v[0] + m[4] * v[1] + m[7] * v[2],
    m[2] * v[0] + m[5] * v[1] + m[8] * v[2],
  ];
}

/** n >= 2 unit vectors evenly spaced by angle on the minor arc a→b, ends included (slerp). */
export function arcPoints(a: Vec3, b: Vec3, n: number): Vec3[] {
  const ua = normalize(a);
  const ub = normalize(b);
  const theta = angleBetween(ua, ub);
  const out: Vec3[] = [];
  for (let k = 0; k < n; k++) {
    const t = n === 1 ? 0 : k / (n - 1);
    if (theta < 1e-12) {
      out.push([ua[0], ua[1], ua[2]]);
      continue;
    }
    const s = Math.sin(theta);
    const wa = Math.sin((1 - t) * theta) / s;
    const wb = Math.sin(t * theta) / s;
    out.push([wa * ua[0] + wb * ub[0], wa * ua[1] + wb * ub[1], wa * ua[2] + wb * ub[2]]);
  }
  return out;
}
