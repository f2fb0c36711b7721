/**
 * Parity with the Python geometry core: every vector written by
 * `python -m label360.sphere.parity build/sphere_vectors.json` is reproduced within its tolerance.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  Geometry,
  View,
  arcPoints,
  ellipseRing,
  geometryArea,
  uprightRectangle,
  geometryToView,
  lonlatToVec,
  pointInGeometry,
  vecToLonlat,
  Vec3,
} from "../src/sphere";

const file = process.env.SPHERE_VECTORS ?? join(process.cwd(), "build", "sphere_vectors.json");
const doc = JSON.parse(readFileSync(file, "utf8"));
const TOL: number = doc.tolerance ?? 1e-9;

function close(actual: number, expected: number, what: string, tol = TOL): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (|Δ| = ${Math.abs(actual - expected)})`);
}

/** Longitudes compare modulo 360 (−180 and 180 are one meridian). */
function closeLon(actual: number, expected: number, what: string): void {
  const d = Math.abs(((actual - expected + 540) % 360) - 180);
  assert.ok(d <= TOL, `${what}: ${actual} vs ${expected}`);
}

test("schema version is known", () => {
  assert.equal(doc.schema_version, 1);
});

test("lonlat → vec", () => {
  for (const c of doc.lonlat_to_vec) {
    const v = lonlatToVec(c.lon, c.lat);
    v.forEach((x, i) => close(x, c.vec[i], `vec(${c.lon}, ${c.lat})[${i}]`));
  }
});

test("vec → lonlat", () => {
  for (const c of doc.vec_to_lonlat) {
    const [lon, lat] = vecToLonlat(c.vec as Vec3);
    if (Math.abs(c.lat) < 90 - 1e-6) closeLon(lon, c.lon, `lon of ${c.vec}`);
    close(lat, c.lat, `lat of ${c.vec}`);
  }
});

test("views: focal, rotation, pixel ↔ lonlat, round trips", () => {
  for (const entry of doc.views) {
    const view = new View(entry.view);
    close(view.focal, entry.focal, "focal");
    const R = view.rotation;
    entry.rotation.forEach((row: number[], i: number) => row.forEach((x, j) => close(R[i * 3 + j], x, `R[${i}][${j}]`)));
    for (const c of entry.pixel_to_lonlat) {
      const [lon, lat] = view.pixelToLonlat(c.x, c.y);
      if (Math.abs(c.lat) < 90 - 1e-6) closeLon(lon, c.lon, `lon of pixel (${c.x}, ${c.y})`);
      close(lat, c.lat, `lat of pixel (${c.x}, ${c.y})`);
    }
    for (const c of entry.round_trip_xy) {
      const [lon, lat] = view.pixelToLonlat(c.x, c.y);
      const px = view.lonlatToPixel(lon, lat)!;
      close(px[0], c.x2, "round-trip x");
      close(px[1], c.y2, "round-trip y");
    }
    for (const c of entry.lonlat_to_pixel) {
      const px = view.lonlatToPixel(c.lon, c.lat);
      if (c.x === null) assert.equal(px, null, `(${c.lon}, ${c.lat}) is behind the camera`);
      else {
        assert.ok(px, `(${c.lon}, ${c.lat}) is in front of the camera`);
        close(px[0], c.x, "x", TOL * Math.max(1, Math.abs(c.x)));
        close(px[1], c.y, "y", TOL * Math.max(1, Math.abs(c.y)));
      }
    }
  }
});

test("yaw 90 looks at lon 90; pitch 90 looks at lat 90", () => {
  const a = new View({ yaw: 90, pitch: 0, roll: 0, hfov: 90, width: 2, height: 2 }).toWorld([0, 0, 1]);
  close(vecToLonlat(a)[0], 90, "lon");
  const b = new View({ yaw: 0, pitch: 90, roll: 0, hfov: 90, width: 2, height: 2 }).toWorld([0, 0, 1]);
  close(vecToLonlat(b)[1], 90, "lat");
});

test("polygons: areas, point-in-polygon, clipped projections into views", () => {
  const views = doc.views.map((e: any) => new View(e.view));
  for (const entry of doc.polygons) {
    const g: Geometry = [entry.polygon];
    close(geometryArea(g), entry.area_sr, "area");
    for (const c of entry.contains) {
      assert.equal(pointInGeometry(lonlatToVec(c.lon, c.lat), g), c.inside, `contains(${c.lon}, ${c.lat})`);
    }
    for (const iv of entry.in_views) {
      const got = geometryToView(g, views[iv.view_index]);
      assert.equal(got.length, iv.polygons.length, `parts in view ${iv.view_index}`);
      iv.polygons.forEach((part: number[][][], p: number) => {
        assert.equal(got[p].length, part.length, `rings of part ${p}`);
        part.forEach((ring, r) => {
          assert.equal(got[p][r].length, ring.length, `vertices of ring ${r} in view ${iv.view_index}`);
          ring.forEach(([x, y], k) => {
            close(got[p][r][k][0], x, `x[${k}]`, TOL * Math.max(1, Math.abs(x)));
            close(got[p][r][k][1], y, `y[${k}]`, TOL * Math.max(1, Math.abs(y)));
          });
        });
      });
    }
  }
});

test("great-circle interpolation", () => {
  for (const c of doc.arcs) {
    const pts = arcPoints(lonlatToVec(c.a[0], c.a[1]), lonlatToVec(c.b[0], c.b[1]), c.n).map(vecToLonlat);
    assert.equal(pts.length, c.points.length);
    pts.forEach(([lon, lat], k) => {
      closeLon(lon, c.points[k][0], `arc lon ${k}`);
      close(lat, c.points[k][1], `arc lat ${k}`);
    });
  }
});

test("ellipses through three clicks", () => {
  assert.ok(doc.ellipses.length >= 12);
  for (const c of doc.ellipses) {
    const view = new View(doc.views[c.view_index].view);
    const ring = ellipseRing(view, c.clicks[0], c.clicks[1], c.clicks[2]);
    if (c.ring === null) {
      assert.equal(ring, null, "no ellipse");
      continue;
    }
    assert.ok(ring, "an ellipse");
    assert.equal(ring.length, c.ring.length, "vertex count");
    ring.forEach(([lon, lat], k) => {
      if (Math.abs(c.ring[k][1]) < 90 - 1e-6) closeLon(lon, c.ring[k][0], `ellipse lon ${k}`);
      close(lat, c.ring[k][1], `ellipse lat ${k}`);
    });
  }
});

test("upright rectangles from two corners", () => {
  assert.ok(doc.rectangles.length >= 8);
  for (const c of doc.rectangles) {
    const ring = uprightRectangle(c.a, c.b);
    if (c.ring === null) {
      assert.equal(ring, null, `no rectangle for ${c.a} ${c.b}`);
      continue;
    }
    assert.ok(ring, "a rectangle");
    assert.deepEqual(ring, c.ring);
  }
});
