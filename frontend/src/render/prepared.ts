/** Camera-independent, cached data of instance geometry: unit vectors and bounding cones. */
import { Geometry, Vec3, boundingCone, lonlatToVec } from "../sphere";

export interface PreparedRing {
  vecs: Vec3[];
}

export interface Prepared {
  rings: PreparedRing[][]; // [part][ring]
  centre: Vec3;
  radius: number;
}

const cache = new WeakMap<Geometry, Prepared>();

export function prepare(geometry: Geometry): Prepared {
  let p = cache.get(geometry);
  if (p) return p;
  const all: Vec3[] = [];
  const rings = geometry.map((poly) =>
    poly.map((ring) => {
      const vecs = ring.map(([lon, lat]) => lonlatToVec(lon, lat));
      all.push(...vecs);
      return { vecs };
    }),
  );
  const cone = boundingCone(all);
  p = { rings, centre: cone.centre, radius: cone.radius };
  cache.set(geometry, p);
  return p;
}
