/** Camera-independent, cached data of instance geometry: unit vectors and bounding cones. */
import { Geometry, Vec3, boundingCone, lonlatToVec } from "../sphere";

export interface PreparedRing {
  vecs: Vec3[];
  /** The same unit vectors packed x, y, z, x, y, z, … (what the per-frame projection reads). */
  flat: Float64Array;
}

export interface Prepared {
  rings: PreparedRing[][]; // [part][ring]
  centre: Vec3;
  radius: number;
  /** sin(radius), or 2 when the cone is a hemisphere or more (it then fits no half-space). */
  sinRadius: number;
}

const cache = new WeakMap<Geometry, Prepared>();

export function prepare(geometry: Geometry): Prepared {
  let p = cache.get(geometry);
  if (p) return p;
  const all: Vec3[] = [];
  const rings = geometry.map((poly) =>
    poly.map((ring) => {
      const vecs = ring.map(([lon, lat]) => lonlatToVec(lon, lat));
      const flat = new Float64Array(3 * vecs.length);
      vecs.forEach((v, i) => flat.set(v, 3 * i));
      for (const v of vecs) all.push(v);
      return { vecs, flat };
    }),
  );
  const cone = boundingCone(all);
  const sinRadius = cone.radius < Math.PI / 2 - 1e-6 ? Math.sin(cone.radius) : 2;
  p = { rings, centre: cone.centre, radius: cone.radius, sinRadius };
  cache.set(geometry, p);
  return p;
}
