/** Depth in the workspace: NPY parsing, surface normals, the projected cursor disc. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DepthMap, parseNpy, surfaceCursor, turbo } from "../src/render/depth";
import { View, dot } from "../src/sphere";

/** An NPY (format 1.0) file the way numpy.save writes it. */
function npy(shape: number[], values: ArrayLike<number>, descr = "<f4"): ArrayBuffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const itemSize = descr === "<f8" ? 8 : 4;
  const buf = new ArrayBuffer(10 + header.length + itemSize * values.length);
  const bytes = new Uint8Array(buf);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(buf).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) bytes[10 + i] = header.charCodeAt(i);
  const dv = new DataView(buf);
  for (let i = 0; i < values.length; i++) {
    if (itemSize === 8) dv.setFloat64(10 + header.length + 8 * i, values[i], true);
    else dv.setFloat32(10 + header.length + 4 * i, values[i], true);
  }
  return buf;
}

/** Distance map of a camera 1.6 m above a flat floor, far field (50 m) above the horizon. */
function floorDepth(w: number, h: number, height = 1.6): Float32Array {
  const d = new Float32Array(w * h);
  for (let r = 0; r < h; r++) {
    const lat = (90 - ((r + 0.5) / h) * 180) * (Math.PI / 180);
    const v = lat < -0.01 ? Math.min(50, height / Math.sin(-lat)) : 50;
    for (let c = 0; c < w; c++) d[r * w + c] = v;
  }
  return d;
}

test("parseNpy reads float32 and float64 C-order arrays", () => {
  const a = parseNpy(npy([2, 3], [1, 2, 3, 4, 5, 6.5]));
  assert.deepEqual(a.shape, [2, 3]);
  assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6.5]);
  const b = parseNpy(npy([4], [0.5, 1, 2, 4], "<f8"));
  assert.deepEqual(b.shape, [4]);
  assert.deepEqual(Array.from(b.data), [0.5, 1, 2, 4]);
  assert.throws(() => parseNpy(new ArrayBuffer(16)), /not an NPY/);
  assert.throws(() => parseNpy(npy([2], [1, 2], "<i4")), /dtype/);
});

test("floor normals from the depth point up; the cursor disc on the floor is a flattened ellipse", () => {
  const w = 256;
  const h = 128;
  const depth = new DepthMap(floorDepth(w, h), w, h);
  // looking 45° down: the floor 1.6 m below, seen obliquely
  const view = new View({ yaw: 30, pitch: -45, roll: 0, hfov: 90, width: 800, height: 600 });
  const c = surfaceCursor(view, depth, 399.5, 299.5);
  assert.ok(c);
  assert.ok(dot(c.normal, [0, 1, 0]) > 0.99, `normal ${c.normal}`);
  assert.ok(Math.abs(c.distance - 1.6 * Math.SQRT2) < 0.1, `distance ${c.distance}`);
  assert.ok(c.minor / c.major < 0.85 && c.minor / c.major > 0.5, `axes ${c.major} ${c.minor}`);
  // looking at the far field straight ahead: a circle facing the camera
  const ahead = new View({ yaw: 0, pitch: 20, roll: 0, hfov: 90, width: 800, height: 600 });
  const f = surfaceCursor(ahead, depth, 399.5, 299.5);
  assert.ok(f);
  assert.ok(f.minor / f.major > 0.9);
  assert.equal(f.distance, 50);
});

test("stored normals win over the derived ones", () => {
  const w = 64;
  const h = 32;
  const normals = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) normals[3 * i] = -1; // facing west everywhere
  const depth = DepthMap.fromNpy({ shape: [h, w], data: floorDepth(w, h) }, { shape: [h, w, 3], data: normals });
  const hit = depth.hit([0, -1, 0.01]);
  assert.ok(hit);
  assert.deepEqual(hit.normal, [-1, 0, 0]);
});

test("turbo runs from dark blue to dark red", () => {
  const [r0, , b0] = turbo(0.1);
  const [r1, , b1] = turbo(0.9);
  assert.ok(b0 > r0 && r1 > b1);
});
