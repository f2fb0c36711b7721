/**
 * Autosave: a revision-checked bulk PUT shortly after each edit, retried with backoff when the
 * network fails; pending edits persist in localStorage until the server has them, so a reload
 * or a crash mid-save loses nothing. A 409 (someone else saved) stops saving and stashes the
 * local set so the user can reload and re-apply it.
 */
import { ApiError, api } from "./api";
import { Inst, Store, fromData, newUid } from "./store";
import type { InstanceData, InstancesResponse } from "./types";

export type SaveState = "saved" | "pending" | "saving" | "offline" | "conflict" | "error" | "readonly";

export interface Pending {
  panorama: number;
  baseRevision: number;
  instances: Inst[];
  serverIds: [string, number][];
  /** The server's set at baseRevision (for a three-way merge when re-applying). */
  base?: Inst[];
  savedAt: number;
}

const pendingKey = (id: number) => `label360:pending:${id}`;
const stashKey = (id: number) => `label360:stash:${id}`;

export function readPending(panorama: number): Pending | null {
  try {
    const raw = localStorage.getItem(pendingKey(panorama));
    return raw ? (JSON.parse(raw) as Pending) : null;
  } catch {
    return null;
  }
}

export function readStash(panorama: number): Pending | null {
  try {
    const raw = localStorage.getItem(stashKey(panorama));
    return raw ? (JSON.parse(raw) as Pending) : null;
  } catch {
    return null;
  }
}

export function clearStash(panorama: number): void {
  localStorage.removeItem(stashKey(panorama));
}

/** Same content (classes, geometry, flags), ignoring ids. */
export function sameContent(a: Inst[], b: Inst[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].label_class !== b[i].label_class || a[i].is_suggestion !== b[i].is_suggestion) return false;
    if (JSON.stringify(a[i].geometry) !== JSON.stringify(b[i].geometry)) return false;
  }
  return true;
}

export class Saver {
  state: SaveState = "saved";
  message = "";
  revision = 0;
  /** Server ids of instances (by local uid) that exist on the server at `revision`. */
  serverIds = new Map<string, number>();
  /** The server's set at `revision`. */
  base: Inst[] = [];
  delayMs = 700;
  private timer: number | null = null;
  private inFlight = false;
  private savedEdit = 0;
  private attempt = 0;
  private listeners: ((s: SaveState) => void)[] = [];

  constructor(
    readonly store: Store,
    readonly panorama: number,
    readonly canEdit: boolean,
  ) {
    if (!canEdit) this.state = "readonly";
    store.on((kind) => {
      if (kind === "edit") this.onEdit();
    });
    window.addEventListener("online", () => {
      if (this.state === "offline") this.schedule(0);
    });
  }

  onChange(fn: (s: SaveState) => void): void {
    this.listeners.push(fn);
  }

  private set(state: SaveState, message = ""): void {
    this.state = state;
    this.message = message;
    for (const fn of this.listeners) fn(state);
  }

  /** Adopt the server's set (load or reload). */
  load(data: InstancesResponse): Inst[] {
    this.revision = data.revision;
    this.serverIds.clear();
    const insts = data.instances.map((d) => {
      const inst = fromData(d);
      if (d.id != null) this.serverIds.set(inst.uid, d.id);
      return inst;
    });
    this.base = insts;
    this.savedEdit = this.store.editCount;
    return insts;
  }

  dirty(): boolean {
    return this.store.editCount !== this.savedEdit;
  }

  private onEdit(): void {
    if (!this.canEdit || this.state === "conflict") {
      if (this.state === "conflict") this.stash();
      return;
    }
    if (!this.dirty()) return;
    this.persist();
    if (this.state !== "offline") this.set("pending");
    this.schedule(this.delayMs);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.timer = null;
      void this.save();
    }, ms);
  }

  /** Keep the unsaved set in localStorage until the server confirms it. */
  persist(): void {
    // on a quota error the in-memory copy still saves
    this.writeSnapshot(pendingKey(this.panorama));
  }

  stash(): void {
    this.writeSnapshot(stashKey(this.panorama));
  }

  /** The local set and its base revision, written under key (storage errors are ignored). */
  private writeSnapshot(key: string): void {
    const snapshot: Pending = {
      panorama: this.panorama,
      baseRevision: this.revision,
      instances: this.store.instances,
      serverIds: [...this.serverIds],
      base: this.base,
      savedAt: Date.now(),
    };
    try {
      localStorage.setItem(key, JSON.stringify(snapshot));
    } catch {
      /* quota or storage unavailable */
    }
  }

  clearPending(): void {
    localStorage.removeItem(pendingKey(this.panorama));
  }

  payload(instances: Inst[]): InstanceData[] {
    return instances.map((i) => ({
      id: this.serverIds.get(i.uid) ?? null,
      label_class: i.label_class,
      geometry: i.geometry,
      source: i.source,
      is_suggestion: i.is_suggestion,
      score: i.score,
      model_version: i.model_version,
      attributes: i.attributes,
    }));
  }

  /** Save now (when dirty); resolves when this attempt ends. */
  async save(): Promise<void> {
    if (!this.canEdit || this.state === "conflict") return;
    if (this.inFlight) {
      this.schedule(200);
      return;
    }
    if (!this.dirty()) {
      if (this.state !== "offline" || !this.dirty()) this.set("saved");
      this.clearPending();
      return;
    }
    const sent = this.store.instances;
    const edit = this.store.editCount;
    this.inFlight = true;
    this.set("saving");
    try {
      const result = await api<InstancesResponse>("PUT", `/api/panoramas/${this.panorama}/instances/`, {
        revision: this.revision,
        instances: this.payload(sent),
      });
      this.revision = result.revision;
      this.serverIds.clear();
      result.instances.forEach((d, k) => {
        if (d.id != null && sent[k]) this.serverIds.set(sent[k].uid, d.id);
      });
      this.base = sent;
      this.savedEdit = edit;
      this.attempt = 0;
      this.inFlight = false;
      if (this.dirty()) {
        this.persist();
        this.set("pending");
        this.schedule(this.delayMs);
      } else {
        this.clearPending();
        this.set("saved");
      }
    } catch (err) {
      this.inFlight = false;
      if (err instanceof ApiError && err.status === 409 && err.body?.code === "revision_conflict") {
        this.stash();
        this.set("conflict", "Someone else changed this panorama.");
      } else if (err instanceof ApiError && err.status === 400) {
        this.set("error", describeInvalid(err.body));
      } else if (err instanceof ApiError && (err.status === 403 || err.status === 401)) {
        this.set("error", "You may not edit this panorama (signed out or not assigned).");
      } else {
        // network failure or server error: retry with exponential backoff (1 s … 30 s)
        this.attempt += 1;
        const wait = Math.min(30000, 1000 * 2 ** (this.attempt - 1));
        this.set("offline", `Retrying in ${Math.round(wait / 1000)} s`);
        this.schedule(wait);
      }
    }
  }
}

function describeInvalid(body: any): string {
  if (!body) return "The server refused the annotations.";
  if (body.instances && typeof body.instances === "object") {
    const [index, fields] = Object.entries(body.instances)[0] as [string, Record<string, string[]>];
    const msgs = Object.values(fields).flat().join("; ");
    return `Instance ${Number(index) + 1} is invalid: ${msgs}`;
  }
  return body.detail || JSON.stringify(body).slice(0, 200);
}

/** Restore a pending set saved against the current revision (after a reload mid-save). */
export function restorePending(saver: Saver, store: Store, pending: Pending): void {
  saver.serverIds = new Map(pending.serverIds);
  store.reset(pending.instances);
  store.commit(pending.instances);
}

/**
 * Re-apply stashed edits on top of the freshly loaded server set (a three-way merge against the
 * set the edits were based on): the user's new instances are added, the ones they changed replace
 * the server's, the ones they deleted go; everything the other person did is kept.
 */
export function reapply(saver: Saver, store: Store, stash: Pending): void {
  store.commit(mergeEdits(store.instances, saver.serverIds, stash));
  clearStash(saver.panorama);
}

export function mergeEdits(current: Inst[], currentIds: Map<string, number>, stash: Pending): Inst[] {
  const stashIds = new Map(stash.serverIds);
  const base = new Map((stash.base ?? []).map((i) => [i.uid, i]));
  const mine = new Map(stash.instances.map((i) => [i.uid, i]));
  const idToCurrent = new Map<number, Inst>();
  for (const inst of current) {
    const id = currentIds.get(inst.uid);
    if (id !== undefined) idToCurrent.set(id, inst);
  }
  // what the user did relative to their base
  const deletedIds = new Set<number>();
  for (const [uid] of base) if (!mine.has(uid) && stashIds.has(uid)) deletedIds.add(stashIds.get(uid)!);
  const changed = new Map<number, Inst>();
  const added: Inst[] = [];
  for (const inst of stash.instances) {
    const id = stashIds.get(inst.uid);
    const before = base.get(inst.uid);
    if (id === undefined || !before) added.push(inst);
    else if (!sameContent([before], [inst])) changed.set(id, inst);
  }
  const out: Inst[] = [];
  for (const inst of current) {
    const id = currentIds.get(inst.uid);
    if (id !== undefined && deletedIds.has(id)) continue;
    const mineChanged = id !== undefined ? changed.get(id) : undefined;
    out.push(mineChanged ? { ...mineChanged, uid: inst.uid } : inst);
    if (id !== undefined) changed.delete(id);
  }
  // changed instances that someone else deleted meanwhile come back as new ones
  for (const inst of changed.values()) out.push({ ...inst, uid: newUid() });
  for (const inst of added) out.push({ ...inst, uid: newUid() });
  return out;
}
