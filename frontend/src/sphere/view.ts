/** Rectilinear (gnomonic) views and cube faces (twin of label360.sphere.views). */
import { DEG, LonLat, Mat3, Vec3, lonlatToVec, matMul, matTVec, matVec, normalize, rotX, rotY, rotZ, vecToLonlat } from "./vec";

export const FACE_NAMES = ["F", "R", "B", "L", "U", "D"] as const;
export type FaceName = (typeof FACE_NAMES)[number];
export const FACE_DIRECTIONS: ReadonlyArray<[number, number]> = [
  [0, 0],
  [90, 0],
  [180, 0],
  [-90, 0],
  [0, 90],
  [0, -90],
];

export interface ViewParams {
  yaw: number;
  pitch: number;
  roll: number;
  hfov: number;
  width: number;
  height: number;
}

/** A rectilinear camera. Pixel (x, y) has its centre at integer coordinates. */
export class View implements ViewParams {
  readonly yaw: number;
  readonly pitch: number;
  readonly roll: number;
  readonly hfov: number;
  readonly width: number;
  readonly height: number;
  readonly focal: number;
  /** Camera-to-world rotation R = Ry(yaw) · Rx(−pitch) · Rz(−roll). */
  readonly rotation: Mat3;

  constructor(p: ViewParams) {
    if (!(p.hfov > 0 && p.hfov < 180)) throw new Error(`hfov must be in (0, 180), got ${p.hfov}`);
    this.yaw = p.yaw;
    this.pitch = p.pitch;
    this.roll = p.roll;
    this.hfov = p.hfov;
    this.width = p.width;
    this.height = p.height;
    this.focal = this.width / 2 / Math.tan((this.hfov * DEG) / 2);
    this.rotation = matMul(matMul(rotY(this.yaw), rotX(-this.pitch)), rotZ(-this.roll));
  }

  get vfov(): number {
    return (2 * Math.atan(this.height / 2 / this.focal)) / DEG;
  }

  with(p: Partial<ViewParams>): View {
    return new View({ ...this.params(), ...p });
  }

  params(): ViewParams {
    return { yaw: this.yaw, pitch: this.pitch, roll: this.roll, hfov: this.hfov, width: this.width, height: this.height };
  }

  pixelToRay(x: number, y: number): Vec3 {
    const f = this.focal;
    return [(x + 0.5 - this.width / 2) / f, -(y + 0.5 - this.height / 2) / f, 1];
  }

  /** Pixel coordinates of a camera-frame ray; null when not in front (z <= 0). */
  rayToPixel(r: Vec3): [number, number] | null {
    if (!(r[2] > 0)) return null;
    const f = this.focal;
    return [(r[0] / r[2]) * f + this.width / 2 - 0.5, (-r[1] / r[2]) * f + this.height / 2 - 0.5];
  }

  toCamera(v: Vec3): Vec3 {
    return matTVec(this.rotation, v);
  }

  toWorld(r: Vec3): Vec3 {
    return matVec(this.rotation, r);
  }

  pixelToVec(x: number, y: number): Vec3 {
    return normalize(this.toWorld(this.pixelToRay(x, y)));
  }

  pixelToLonlat(x: number, y: number): LonLat {
    return vecToLonlat(this.pixelToVec(x, y));
  }

  vecToPixel(v: Vec3): [number, number] | null {
    return this.rayToPixel(this.toCamera(v));
  }

  lonlatToPixel(lon: number, lat: number): [number, number] | null {
    return this.vecToPixel(lonlatToVec(lon, lat));
  }
}

/** The six cube-face views (F R B L U D), square, horizontal FOV `fov` >= 90. */
export function cubeFaceViews(faceSize: number, fov = 90): View[] {
  if (fov < 90 || fov >= 180) throw new Error(`cube face fov must be in [90, 180), got ${fov}`);
  return FACE_DIRECTIONS.map(([yaw, pitch]) => new View({ yaw, pitch, roll: 0, hfov: fov, width: faceSize, height: faceSize }));
}

/** Index of the cube face whose 90° square contains direction v (ties: first in F R B L U D order). */
export function faceOf(v: Vec3): number {
  const [x, y, z] = v;
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  if (ay >= ax && ay >= az) return y > 0 ? 4 : 5;
  if (az >= ax) return z > 0 ? 0 : 2;
  return x > 0 ? 1 : 3;
}
