/** Editing model: undo/redo of every edit, vertex operations, equirect paths across the seam. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Inst, Store, deleteVertex, insertVertex, moveVertex } from "../src/store";
import { Geometry, View, equirectPath, projectRing } from "../src/sphere";

const square: Geometry = [[[[-10, -10], [10, -10], [10, 10], [-10, 10]]]];
const inst = (uid: string, g: Geometry = square): Inst => ({ uid, label_class: 1, geometry: g, source: "manual", is_suggestion: false, score: null, model_version: "", attributes: {} });

test("undo and redo cover add, update, move and remove", () => {
  const s = new Store();
  s.add(inst("a"));
  s.update("a", { label_class: 2 });
  s.setGeometry("a", moveVertex(square, { part: 0, ring: 0, index: 0 }, [-20, -20]));
  s.remove("a");
  assert.equal(s.instances.length, 0);
  s.undo();
  assert.deepEqual(s.instances[0].geometry[0][0][0], [-20, -20]);
  s.undo();
  assert.deepEqual(s.instances[0].geometry[0][0][0], [-10, -10]);
  s.undo();
  assert.equal(s.instances[0].label_class, 1);
  s.redo();
  s.redo();
  assert.deepEqual(s.instances[0].geometry[0][0][0], [-20, -20]);
  assert.equal(s.instances[0].label_class, 2);
});

test("insert and delete vertices; a ring below 3 vertices drops its part", () => {
  const g = insertVertex(square, 0, 0, 0, [0, -11]);
  assert.equal(g[0][0].length, 5);
  assert.deepEqual(g[0][0][1], [0, -11]);
  const tri: Geometry = [[[[0, 0], [1, 0], [0, 1]]], ...square];
  const out = deleteVertex(tri, { part: 0, ring: 0, index: 1 });
  assert.equal(out.length, 1);
});

test("a polygon behind the camera is clipped away, never wrapped", () => {
  const view = new View({ yaw: 180, pitch: 0, roll: 0, hfov: 90, width: 400, height: 300 });
  assert.equal(projectRing(view, square[0][0]), null);
  const seam = [[170, -5], [-170, -5], [-170, 5], [170, 5]] as [number, number][];
  const r = projectRing(view, seam)!;
  for (let i = 0; i < r.pts.length; i += 2) {
    assert.ok(r.pts[i] > 0 && r.pts[i] < 400, "x inside the view");
  }
});

test("equirect paths unwrap across the seam and detect rings around a pole", () => {
  const seam = equirectPath([[170, -5], [-170, -5], [-170, 5], [170, 5]], 2);
  assert.equal(seam.pole, 0);
  assert.ok(seam.maxLon - seam.minLon < 25, "continuous across ±180");
  const cap = equirectPath([[0, 75], [90, 75], [179, 75], [-90, 75]], 2);
  assert.equal(cap.pole, 1);
});
