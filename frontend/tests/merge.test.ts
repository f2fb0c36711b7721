/** Save diffs and the per-field three-way merge after a save conflict (frontend/src/merge.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BaseSet, diffSet, planMerge, resolveMerge, type Side } from "../src/merge";
import type { Inst } from "../src/store";
import type { Geometry } from "../src/sphere";

const square: Geometry = [[[[-10, -10], [10, -10], [10, 10], [-10, 10]]]];
const moved: Geometry = [[[[-12, -11], [10, -10], [10, 10], [-10, 10]]]];
const movedOther: Geometry = [[[[-10, -10], [10, -10], [14, 12], [-10, 10]]]];
const inst = (uid: string, extra: Partial<Inst> = {}): Inst => ({
  uid,
  label_class: 1,
  geometry: square,
  source: "manual",
  is_suggestion: false,
  score: null,
  model_version: "",
  attributes: {},
  ...extra,
});

/** The server's set at the base revision: A(1), B(2), C(3). */
function world() {
  const a = inst("sA");
  const b = inst("sB", { label_class: 2 });
  const c = inst("sC", { attributes: { occluded: false } });
  const ids = new Map([["sA", 1], ["sB", 2], ["sC", 3]]);
  return { a, b, c, ids, base: BaseSet.of([a, b, c], ids) };
}

function merge(theirs: Inst[], mine: Inst[], choices: Record<string, Side> = {}) {
  const w = world();
  const plan = planMerge(theirs, w.ids, mine, w.ids, w.base);
  return { plan, merged: () => resolveMerge(plan, new Map(Object.entries(choices))) };
}

test("the save diff names only what changed, was added or was deleted", () => {
  const w = world();
  const changed = { ...w.b, label_class: 5 };
  const added = inst("new1");
  const diff = diffSet([w.a, changed, added], w.ids, w.base);
  assert.deepEqual(diff.upserts.map((u) => [u.inst.uid, u.id]), [["sB", 2], ["new1", null]]);
  assert.deepEqual(diff.deleted, [3]);
  assert.equal(diff.appendOnly, true);
  // content equal to the base (e.g. after undo) is no change even with a new object
  assert.equal(diffSet([{ ...w.a }, w.b, w.c], w.ids, w.base).upserts.length, 0);
  // a new instance below a kept one cannot be appended on top: the bulk PUT is needed
  assert.equal(diffSet([added, w.a, w.b, w.c], w.ids, w.base).appendOnly, false);
  assert.equal(diffSet([w.b, w.a, w.c], w.ids, w.base).appendOnly, false);
});

test("their vertex move and my class change to the same instance both survive", () => {
  const w = world();
  const { plan, merged } = merge([{ ...w.a, geometry: moved }, w.b, w.c], [{ ...w.a, label_class: 7 }, w.b, w.c]);
  assert.equal(plan.conflicts.length, 0);
  const a = merged()[0];
  assert.deepEqual(a.geometry, moved);
  assert.equal(a.label_class, 7);
  assert.equal(a.uid, "sA", "keeps the server's identity");
});

test("my class change against their deletion is a conflict the user decides", () => {
  const w = world();
  const theirs = [w.b, w.c]; // they deleted A
  const mine = [{ ...w.a, label_class: 7 }, w.b, w.c];
  const { plan } = merge(theirs, mine);
  assert.deepEqual(plan.conflicts.map((c) => [c.key, c.kind, c.theirs, c.mine?.label_class]), [["1:deleted", "deleted", null, 7]]);
  assert.throws(() => resolveMerge(plan, new Map()), /no choice/);
  const keepMine = resolveMerge(plan, new Map([["1:deleted", "mine"]]));
  assert.equal(keepMine.length, 3);
  assert.equal(keepMine[2].label_class, 7);
  assert.notEqual(keepMine[2].uid, "sA", "comes back as a new instance");
  assert.equal(resolveMerge(plan, new Map([["1:deleted", "theirs"]])).length, 2);
});

test("their class change against my deletion is a conflict too (the deletion does not win by itself)", () => {
  const w = world();
  const { plan } = merge([{ ...w.a, label_class: 9 }, w.b, w.c], [w.b, w.c]);
  assert.deepEqual(plan.conflicts.map((c) => [c.key, c.theirs?.label_class, c.mine]), [["1:deleted", 9, null]]);
  const theirs = resolveMerge(plan, new Map([["1:deleted", "theirs"]]));
  assert.deepEqual(theirs.map((i) => [i.uid, i.label_class]), [["sA", 9], ["sB", 2], ["sC", 1]]);
  assert.equal(resolveMerge(plan, new Map([["1:deleted", "mine"]])).length, 2);
});

test("a deletion on one side of an untouched instance just happens", () => {
  const w = world();
  assert.deepEqual(merge([w.b, w.c], [w.a, w.b, w.c]).merged().map((i) => i.uid), ["sB", "sC"]);
  const mineDeleted = merge([w.a, w.b, w.c], [w.a, w.c]);
  assert.equal(mineDeleted.plan.conflicts.length, 0);
  assert.deepEqual(mineDeleted.merged().map((i) => i.uid), ["sA", "sC"]);
});

test("different changes to the same field are shown side by side and resolved per field", () => {
  const w = world();
  const theirs = [{ ...w.a, label_class: 3, geometry: moved }, w.b, w.c];
  const mine = [{ ...w.a, label_class: 4, geometry: movedOther }, w.b, w.c];
  const { plan } = merge(theirs, mine);
  assert.deepEqual(plan.conflicts.map((c) => c.key).sort(), ["1:geometry", "1:label_class"]);
  const out = resolveMerge(plan, new Map<string, Side>([["1:geometry", "theirs"], ["1:label_class", "mine"]]));
  assert.deepEqual(out[0].geometry, moved);
  assert.equal(out[0].label_class, 4);
});

test("the same change on both sides is no conflict", () => {
  const w = world();
  const { plan, merged } = merge([{ ...w.a, geometry: moved }, w.b, w.c], [{ ...w.a, geometry: moved }, w.b, w.c]);
  assert.equal(plan.conflicts.length, 0);
  assert.deepEqual(merged()[0].geometry, moved);
});

test("attributes merge key by key; the same key changed differently is a conflict", () => {
  const w = world();
  const theirs = [w.a, w.b, { ...w.c, attributes: { occluded: true, colour: "red" } }];
  const mine = [w.a, w.b, { ...w.c, attributes: { occluded: false, truncated: true } }];
  const clean = merge(theirs, mine);
  assert.equal(clean.plan.conflicts.length, 0);
  assert.deepEqual(clean.merged()[2].attributes, { occluded: true, colour: "red", truncated: true });
  const clash = merge(theirs, [w.a, w.b, { ...w.c, attributes: { occluded: "partly" } }]);
  assert.deepEqual(clash.plan.conflicts.map((c) => [c.key, c.attribute]), [["3:attr:occluded", "occluded"]]);
  const out = resolveMerge(clash.plan, new Map([["3:attr:occluded", "mine"]]));
  // my removal of nothing else: their new key stays, the conflicting one is mine
  assert.deepEqual(out[2].attributes, { occluded: "partly", colour: "red" });
});

test("new instances of both sides are kept; mine go on top", () => {
  const w = world();
  const theirsNew = inst("sD");
  const ids = new Map([...w.ids, ["sD", 4]]);
  const plan = planMerge([w.a, w.b, w.c, theirsNew], ids, [w.a, w.b, w.c, inst("local1")], w.ids, w.base);
  const out = resolveMerge(plan, new Map());
  assert.deepEqual(out.slice(0, 4).map((i) => i.uid), ["sA", "sB", "sC", "sD"]);
  assert.equal(out.length, 5);
  assert.equal(plan.summary.mineAdded, 1);
});

test("accepting a suggestion (flag) merges with their geometry edit", () => {
  const w = world();
  const base = BaseSet.of([{ ...w.a, is_suggestion: true, source: "model", score: 0.8 }], new Map([["sA", 1]]));
  const sugg = base.byId.get(1)!;
  const plan = planMerge([{ ...sugg, geometry: moved }], new Map([["sA", 1]]), [{ ...sugg, is_suggestion: false }], new Map([["sA", 1]]), base);
  assert.equal(plan.conflicts.length, 0);
  const [out] = resolveMerge(plan, new Map());
  assert.equal(out.is_suggestion, false);
  assert.deepEqual(out.geometry, moved);
  assert.equal(out.source, "model");
});
