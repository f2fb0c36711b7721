/**
 * Instance sets as edits: what changed against the server's set (what an autosave sends), and the
 * per-field three-way merge of my edits with someone else's after a save conflict.
 *
 * Instances are matched by server id. The merge looks at each field group on its own — geometry
 * (with the source/score/model version that describe it), class, suggestion flag, each attribute —
 * and at deletion: a change made on one side only is taken; the same change on both sides is
 * taken once; different changes to the same field, or a change against a deletion, become a
 * conflict that the user resolves (theirs or mine). Nothing is dropped without a choice.
 */
import { type Inst, newUid } from "./store";

/** JSON with sorted object keys, so that {a, b} and {b, a} compare equal. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return stable(a) === stable(b);
}

/** The field groups the merge decides on (attributes are merged key by key). */
export type Group = "geometry" | "label_class" | "is_suggestion";
const GROUP_FIELDS: Record<Group, (keyof Inst)[]> = {
  geometry: ["geometry", "source", "score", "model_version"],
  label_class: ["label_class"],
  is_suggestion: ["is_suggestion"],
};
export const GROUPS = Object.keys(GROUP_FIELDS) as Group[];

function sameGroup(a: Inst, b: Inst, group: Group): boolean {
  return GROUP_FIELDS[group].every((f) => (f === "geometry" ? sameValue(a.geometry, b.geometry) : a[f] === b[f]));
}

/** Same stored content (ids and local uids aside). */
export function sameInst(a: Inst, b: Inst): boolean {
  if (a === b) return true;
  return GROUPS.every((g) => sameGroup(a, b, g)) && sameValue(a.attributes ?? {}, b.attributes ?? {});
}

// ------------------------------------------------------------------------------ save diff
/** The server's set at a revision, by id, with each id's position (its drawing order). */
export class BaseSet {
  readonly byId = new Map<number, Inst>();
  readonly rank = new Map<number, number>();

  constructor(pairs: Iterable<[number, Inst]>) {
    for (const [id, inst] of pairs) {
      this.rank.set(id, this.byId.size);
      this.byId.set(id, inst);
    }
  }

  static of(instances: Inst[], ids: Map<string, number>): BaseSet {
    const pairs: [number, Inst][] = [];
    for (const inst of instances) {
      const id = ids.get(inst.uid);
      if (id !== undefined) pairs.push([id, inst]);
    }
    return new BaseSet(pairs);
  }

  pairs(): [number, Inst][] {
    return [...this.byId];
  }
}

export interface SetDiff {
  /** Changed instances (with their id) and new ones (id null), in the local order. */
  upserts: { inst: Inst; id: number | null }[];
  deleted: number[];
  /**
   * Whether the new instances all come after every kept one and the kept ones are in the server's
   * order: then "append the new ones on top" stores exactly the local drawing order.
   */
  appendOnly: boolean;
}

/** What the local set changes against the server's: O(n) reference checks, content compared only where references differ. */
export function diffSet(current: Inst[], ids: Map<string, number>, base: BaseSet): SetDiff {
  const upserts: SetDiff["upserts"] = [];
  const seen = new Set<number>();
  let appendOnly = true;
  let lastRank = -1;
  let sawNew = false;
  for (const inst of current) {
    const id = ids.get(inst.uid);
    const before = id !== undefined && !seen.has(id) ? base.byId.get(id) : undefined;
    if (id === undefined || before === undefined) {
      upserts.push({ inst, id: null });
      sawNew = true;
      continue;
    }
    seen.add(id);
    const rank = base.rank.get(id)!;
    if (sawNew || rank < lastRank) appendOnly = false;
    lastRank = rank;
    if (!sameInst(inst, before)) upserts.push({ inst, id });
  }
  const deleted: number[] = [];
  for (const id of base.byId.keys()) if (!seen.has(id)) deleted.push(id);
  return { upserts, deleted, appendOnly };
}

// ------------------------------------------------------------------------------ three-way merge
export type Side = "theirs" | "mine";

export interface Conflict {
  /** Unique within a merge: "<id>:<group>", "<id>:attr:<name>" or "<id>:deleted". */
  key: string;
  id: number;
  kind: Group | "attribute" | "deleted";
  attribute?: string;
  /** Their version of the instance (null: they deleted it). */
  theirs: Inst | null;
  /** My version (null: I deleted it). */
  mine: Inst | null;
}

interface Slot {
  id: number | null;
  theirs: Inst | null;
  mine: Inst | null;
  /** Per field group / attribute: the side whose value is taken, or the conflict's key. */
  take: Map<string, Side | { conflict: string }>;
  /** For a deletion conflict: its key. */
  deletion?: string;
}

export interface MergePlan {
  slots: Slot[];
  conflicts: Conflict[];
  /** Counts for the message shown after a merge. */
  summary: { mineChanged: number; mineDeleted: number; mineAdded: number; theirsKept: number };
}

/**
 * Merge my edits (``mine`` against ``base``) into their current set (``theirs``).
 * ``theirIds`` / ``myIds`` give the server id of each local uid. Their order is kept; my new
 * instances go on top, as do instances I changed that they deleted (when I keep them).
 */
export function planMerge(theirs: Inst[], theirIds: Map<string, number>, mine: Inst[], myIds: Map<string, number>, base: BaseSet): MergePlan {
  const mineById = new Map<number, Inst>();
  const mineNew: Inst[] = [];
  for (const inst of mine) {
    const id = myIds.get(inst.uid);
    if (id !== undefined && base.byId.has(id) && !mineById.has(id)) mineById.set(id, inst);
    else mineNew.push(inst);
  }
  const slots: Slot[] = [];
  const conflicts: Conflict[] = [];
  const summary = { mineChanged: 0, mineDeleted: 0, mineAdded: mineNew.length, theirsKept: 0 };
  const theirsIds = new Set<number>();

  const pick = (t: Inst, m: Inst, b: Inst, id: number): Slot => {
    const take: Slot["take"] = new Map();
    for (const group of GROUPS) {
      const mc = !sameGroup(m, b, group);
      const tc = !sameGroup(t, b, group);
      if (mc && tc && !sameGroup(m, t, group)) {
        const key = `${id}:${group}`;
        conflicts.push({ key, id, kind: group, theirs: t, mine: m });
        take.set(group, { conflict: key });
      } else take.set(group, mc ? "mine" : "theirs");
    }
    const names = new Set([...Object.keys(b.attributes ?? {}), ...Object.keys(m.attributes ?? {}), ...Object.keys(t.attributes ?? {})]);
    for (const name of [...names].sort()) {
      const bv = (b.attributes ?? {})[name];
      const mv = (m.attributes ?? {})[name];
      const tv = (t.attributes ?? {})[name];
      const mc = !sameValue(mv, bv);
      const tc = !sameValue(tv, bv);
      if (mc && tc && !sameValue(mv, tv)) {
        const key = `${id}:attr:${name}`;
        conflicts.push({ key, id, kind: "attribute", attribute: name, theirs: t, mine: m });
        take.set(`attr:${name}`, { conflict: key });
      } else take.set(`attr:${name}`, mc ? "mine" : "theirs");
    }
    return { id, theirs: t, mine: m, take };
  };

  for (const t of theirs) {
    const id = theirIds.get(t.uid);
    if (id === undefined || !base.byId.has(id)) {
      slots.push({ id: id ?? null, theirs: t, mine: null, take: new Map() });
      summary.theirsKept += 1;
      continue;
    }
    theirsIds.add(id);
    const b = base.byId.get(id)!;
    const m = mineById.get(id);
    if (m === undefined) {
      summary.mineDeleted += 1;
      if (sameInst(t, b)) continue; // I deleted it, they did not touch it
      const key = `${id}:deleted`;
      conflicts.push({ key, id, kind: "deleted", theirs: t, mine: null });
      slots.push({ id, theirs: t, mine: null, take: new Map(), deletion: key });
      continue;
    }
    if (sameInst(m, b)) {
      slots.push({ id, theirs: t, mine: null, take: new Map() });
      continue;
    }
    summary.mineChanged += 1;
    slots.push(pick(t, m, b, id));
  }
  // instances they deleted: gone, unless I changed them (then it is a conflict)
  for (const [id, m] of mineById) {
    if (theirsIds.has(id)) continue;
    if (sameInst(m, base.byId.get(id)!)) continue;
    summary.mineChanged += 1;
    const key = `${id}:deleted`;
    conflicts.push({ key, id, kind: "deleted", theirs: null, mine: m });
    slots.push({ id, theirs: null, mine: m, take: new Map(), deletion: key });
  }
  for (const m of mineNew) slots.push({ id: null, theirs: null, mine: m, take: new Map() });
  return { slots, conflicts, summary };
}

/** The merged set once every conflict has a choice (throws if one is missing). */
export function resolveMerge(plan: MergePlan, choices: Map<string, Side>): Inst[] {
  const choose = (key: string): Side => {
    const side = choices.get(key);
    if (side === undefined) throw new Error(`conflict ${key} has no choice`);
    return side;
  };
  const out: Inst[] = [];
  for (const slot of plan.slots) {
    const { theirs: t, mine: m } = slot;
    if (slot.deletion !== undefined) {
      const side = choose(slot.deletion);
      // "theirs" keeps their version when I deleted it, and deletes it when they did
      const kept = side === "theirs" ? t : m;
      if (kept) out.push(t ? kept : { ...kept, uid: newUid() });
      continue;
    }
    if (t && !m) {
      out.push(t);
      continue;
    }
    if (m && !t) {
      out.push({ ...m, uid: newUid() });
      continue;
    }
    if (!t || !m) continue;
    const merged: Inst = { ...t, attributes: {} };
    for (const group of GROUPS) {
      const rule = slot.take.get(group)!;
      const side = typeof rule === "string" ? rule : choose(rule.conflict);
      const from = side === "mine" ? m : t;
      for (const f of GROUP_FIELDS[group]) (merged as unknown as Record<string, unknown>)[f] = from[f];
    }
    for (const [name, rule] of slot.take) {
      if (!name.startsWith("attr:")) continue;
      const attr = name.slice(5);
      const side = typeof rule === "string" ? rule : choose(rule.conflict);
      const value = (side === "mine" ? m : t).attributes?.[attr];
      if (value !== undefined) merged.attributes[attr] = value;
    }
    out.push(merged);
  }
  return out;
}
