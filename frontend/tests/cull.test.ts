/**
 * The overlay's fast path (cap culling, unclipped projection of instances wholly inside the
 * view, clipping only by the straddled planes) draws exactly what the full 3-D clip of every
 * ring by every frustum plane draws (`projectCameraRing`), for random views and polygons.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ClipVertex, Geometry, ProjectedRing, View, frustumPlanes, projectCameraRing } from "../src/sphere";
import { CULLED, PathSink, ViewProjector, outlinePath, ringPath } from "../src/render/cull";
import { prepare } from "../src/render/prepared";

class Recorder implements PathSink {
  ops: (string | number)[] = [];
  moveTo(x: number, y: number): void {
    this.ops.push("M", x, y);
  }
  lineTo(x: number, y: number): void {
    this.ops.push("L", x, y);
  }
}

function sameOps(actual: Recorder, expected: Recorder, what: string): void {
  assert.equal(actual.ops.length, expected.ops.length, `${what}: ${actual.ops.length} vs ${expected.ops.length} ops`);
  actual.ops.forEach((op, i) => {
    const e = expected.ops[i];
    if (typeof op === "number" && typeof e === "number") assert.ok(Math.abs(op - e) < 1e-6, `${what}[${i}]: ${op} vs ${e}`);
    else assert.equal(op, e, `${what}[${i}]`);
  });
}

/** A deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A star-ish polygon around (lon0, lat0), optionally with a hole; may cross the seam or a pole. */
function polygon(r: () => number): Geometry {
  const lon0 = r() * 360 - 180;
  const lat0 = r() * 170 - 85;
  const radius = r() < 0.1 ? 40 + r() * 60 : 0.5 + r() * 12;
  const n = 3 + Math.floor(r() * 25);
  const ring = (scale: number, reverse: boolean) => {
    const pts: [number, number][] = [];
    for (let k = 0; k < n; k++) {
      const a = ((reverse ? -k : k) / n) * 2 * Math.PI;
      const rr = scale * radius * (0.6 + 0.4 * r());
      const lat = Math.max(-89.9, Math.min(89.9, lat0 + rr * Math.sin(a)));
      const lon = lon0 + (rr * Math.cos(a)) / Math.max(0.05, Math.cos((lat0 * Math.PI) / 180));
      pts.push([((((lon + 180) % 360) + 360) % 360) - 180, lat]);
    }
    return pts;
  };
  return r() < 0.2 ? [[ring(1, false), ring(0.3, true)]] : [[ring(1, false)]];
}

test("culling and the unclipped fast path match the full clip", () => {
  const r = rng(7);
  let whole = 0;
  let clipped = 0;
  let culled = 0;
  let nearZ = 0;
  for (let v = 0; v < 40; v++) {
    const view = new View({
      yaw: r() * 360 - 180,
      pitch: r() * 180 - 90,
      roll: r() < 0.3 ? r() * 40 - 20 : 0,
      hfov: 20 + r() * 120,
      width: 200 + Math.floor(r() * 1800),
      height: 150 + Math.floor(r() * 900),
    });
    const projector = new ViewProjector(view, 8);
    const planes = frustumPlanes(view, 8);
    for (let p = 0; p < 60; p++) {
      const geometry = polygon(r);
      const prep = prepare(geometry);
      const got = { whole: new Recorder(), clippedFill: new Recorder(), clippedLine: new Recorder() };
      const want = { whole: new Recorder(), clippedFill: new Recorder(), clippedLine: new Recorder() };
      let visible = false;
      for (const poly of prep.rings) {
        for (const ring of poly) {
          const cam: ClipVertex[] = ring.vecs.map((x) => ({ v: view.toCamera(x), cut: false }));
          const ref: ProjectedRing | null = projectCameraRing(view, cam, planes);
          if (!ref) continue;
          visible = true;
          if (ref.cut.some(Boolean)) (ringPath(want.clippedFill, ref), outlinePath(want.clippedLine, ref));
          else ringPath(want.whole, ref);
        }
      }
      const mask = projector.classify(prep);
      assert.equal(projector.append(prep, got), visible, `view ${v} polygon ${p}: visible`);
      if (mask === CULLED) culled += 1;
      else if (mask === 0) whole += 1;
      else clipped += 1;
      if (mask !== CULLED && mask & 0b10000) nearZ += 1;
      for (const k of ["whole", "clippedFill", "clippedLine"] as const) sameOps(got[k], want[k], `view ${v} polygon ${p} ${k}`);
    }
  }
  // every branch was exercised: culled, whole, clipped in the image, clipped in 3-D near z = 0
  assert.ok(whole > 50 && clipped > 50 && culled > 50 && nearZ > 20, `whole ${whole}, clipped ${clipped}, culled ${culled}, near z ${nearZ}`);
});
