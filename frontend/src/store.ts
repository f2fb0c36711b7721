/**
 * The workspace's instance set with undo/redo. Instances are immutable: an edit builds a new
 * array (sharing unchanged instances), so a history entry is a cheap array of references and
 * every edit is undoable the same way.
 */
import type { Geometry } from "./sphere";
import type { InstanceData } from "./types";

export interface Inst {
  uid: string;
  label_class: number;
  geometry: Geometry;
  source: string;
  is_suggestion: boolean;
  score: number | null;
  model_version: string;
  attributes: Record<string, unknown>;
}

export interface VertexRef {
  part: number;
  ring: number;
  index: number;
}

type Listener = (kind: "edit" | "selection" | "visibility") => void;

let uidCounter = 0;
export function newUid(): string {
  uidCounter += 1;
  return `i${Date.now().toString(36)}${uidCounter}`;
}

export function fromData(d: InstanceData, uid?: string): Inst {
  return {
    uid: uid ?? (d.id != null ? `s${d.id}` : newUid()),
    label_class: d.label_class,
    geometry: d.geometry,
    source: d.source || "manual",
    is_suggestion: !!d.is_suggestion,
    score: d.score ?? null,
    model_version: d.model_version ?? "",
    attributes: d.attributes ?? {},
  };
}

export function cloneGeometry(g: Geometry): Geometry {
  return g.map((poly) => poly.map((ring) => ring.map(([lon, lat]) => [lon, lat] as [number, number])));
}

export class Store {
  instances: Inst[] = [];
  private past: Inst[][] = [];
  private future: Inst[][] = [];
  selected: string | null = null;
  selectedVertex: VertexRef | null = null;
  hidden = new Set<string>();
  /** Locked instances cannot be picked, moved or deleted in the view (unlock in the data panel). */
  locked = new Set<string>();
  /** Incremented on every edit (the saver compares it). */
  editCount = 0;
  private listeners: Listener[] = [];

  on(fn: Listener): void {
    this.listeners.push(fn);
  }

  emit(kind: "edit" | "selection" | "visibility"): void {
    for (const fn of this.listeners) fn(kind);
  }

  /** Replace everything without history (load / reload). */
  reset(instances: Inst[]): void {
    this.instances = instances;
    this.past = [];
    this.future = [];
    if (this.selected && !instances.some((i) => i.uid === this.selected)) this.selected = null;
    this.selectedVertex = null;
    this.emit("edit");
  }

  /** Apply an edit as one undoable step. */
  commit(next: Inst[]): void {
    this.past.push(this.instances);
    if (this.past.length > 500) this.past.shift();
    this.future = [];
    this.instances = next;
    this.editCount += 1;
    this.emit("edit");
  }

  canUndo(): boolean {
    return this.past.length > 0;
  }

  canRedo(): boolean {
    return this.future.length > 0;
  }

  undo(): void {
    const prev = this.past.pop();
    if (!prev) return;
    this.future.push(this.instances);
    this.instances = prev;
    this.afterHistory();
  }

  redo(): void {
    const next = this.future.pop();
    if (!next) return;
    this.past.push(this.instances);
    this.instances = next;
    this.afterHistory();
  }

  private afterHistory(): void {
    if (this.selected && !this.get(this.selected)) this.selected = null;
    this.selectedVertex = null;
    this.editCount += 1;
    this.emit("edit");
  }

  get(uid: string): Inst | undefined {
    return this.instances.find((i) => i.uid === uid);
  }

  select(uid: string | null, vertex: VertexRef | null = null): void {
    this.selected = uid;
    this.selectedVertex = vertex;
    this.emit("selection");
  }

  add(inst: Inst): void {
    this.commit([...this.instances, inst]);
    this.select(inst.uid);
  }

  update(uid: string, change: Partial<Inst>): void {
    this.commit(this.instances.map((i) => (i.uid === uid ? { ...i, ...change } : i)));
  }

  remove(uid: string): void {
    this.commit(this.instances.filter((i) => i.uid !== uid));
    if (this.selected === uid) this.select(null);
  }

  setGeometry(uid: string, geometry: Geometry): void {
    if (geometry.length === 0) {
      this.remove(uid);
      return;
    }
    this.update(uid, { geometry });
  }

  toggleHidden(uid: string): void {
    if (this.hidden.has(uid)) this.hidden.delete(uid);
    else this.hidden.add(uid);
    this.emit("visibility");
  }

  toggleLocked(uid: string): void {
    if (this.locked.has(uid)) this.locked.delete(uid);
    else this.locked.add(uid);
    this.emit("visibility");
  }

  /** Hide (or show) every instance of a class. */
  setClassHidden(labelClass: number, hide: boolean): void {
    for (const i of this.instances) {
      if (i.label_class !== labelClass) continue;
      if (hide) this.hidden.add(i.uid);
      else this.hidden.delete(i.uid);
    }
    this.emit("visibility");
  }

  /** Hide every instance but ``uid``; when it is already the only one shown, show all again. */
  soloToggle(uid: string): void {
    const solo = this.instances.every((i) => i.uid === uid || this.hidden.has(i.uid)) && !this.hidden.has(uid);
    this.hidden.clear();
    if (!solo) for (const i of this.instances) if (i.uid !== uid) this.hidden.add(i.uid);
    this.emit("visibility");
  }

  visible(): Inst[] {
    return this.hidden.size ? this.instances.filter((i) => !this.hidden.has(i.uid)) : this.instances;
  }
}

/** Geometry with one vertex moved. */
export function moveVertex(g: Geometry, ref: VertexRef, lonlat: [number, number]): Geometry {
  return g.map((poly, p) =>
    p !== ref.part ? poly : poly.map((ring, r) => (r !== ref.ring ? ring : ring.map((v, k) => (k === ref.index ? lonlat : v)))),
  );
}

/** Geometry with a vertex inserted after index `after` of a ring. */
export function insertVertex(g: Geometry, part: number, ring: number, after: number, lonlat: [number, number]): Geometry {
  return g.map((poly, p) =>
    p !== part ? poly : poly.map((rg, r) => (r !== ring ? rg : [...rg.slice(0, after + 1), lonlat, ...rg.slice(after + 1)])),
  );
}

/** Geometry with a vertex removed; a ring left with < 3 vertices goes (an outer ring takes its part). */
export function deleteVertex(g: Geometry, ref: VertexRef): Geometry {
  const out: Geometry = [];
  g.forEach((poly, p) => {
    if (p !== ref.part) {
      out.push(poly);
      return;
    }
    const ring = poly[ref.ring].filter((_, k) => k !== ref.index);
    if (ring.length >= 3) out.push(poly.map((rg, r) => (r === ref.ring ? ring : rg)));
    else if (ref.ring !== 0) out.push(poly.filter((_, r) => r !== ref.ring));
    // else: the outer ring is gone, and its part with it
  });
  return out;
}

export function vertexCount(g: Geometry): number {
  let n = 0;
  for (const poly of g) for (const ring of poly) n += ring.length;
  return n;
}
