/**
 * Autosave: shortly after each edit, the instances that changed, were added or were deleted go to
 * the server in one revision-checked PATCH (a save costs what the edit costs); the bulk PUT of the
 * whole set is kept for the rare local reorderings a PATCH cannot express. Failed saves are
 * retried with backoff; pending edits persist in localStorage until the server has them, so a
 * reload or a crash mid-save loses nothing. A 409 (someone else saved) stops saving and stashes the
 * local set with the server set it was based on, for the three-way merge (merge.ts) after the
 * latest version is loaded. A 409 because the panorama was locked by the review workflow stashes
 * the edits too, and the workspace turns read-only.
 */
import { ApiError, api } from "./api";
import { BaseSet, diffSet, sameInst } from "./merge";
import { Inst, Store, fromData } from "./store";
import type { InstanceData, InstancesResponse } from "./types";

export type SaveState = "saved" | "pending" | "saving" | "offline" | "conflict" | "error" | "readonly" | "locked" | "stashed";

export interface Pending {
  panorama: number;
  baseRevision: number;
  instances: Inst[];
  serverIds: [string, number][];
  /** The server's set at baseRevision, by id (for the three-way merge when re-applying). */
  baseById?: [number, Inst][];
  /** Older snapshots: the server's set at baseRevision by local uid (ids in serverIds). */
  base?: Inst[];
  savedAt: number;
}

/** The answer to a PATCH of the instance set. */
interface PatchResponse {
  revision: number;
  /** The upserted instances, in the order they were sent (new ones with their ids). */
  instances: InstanceData[];
  deleted: number[];
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

export function writeStash(snapshot: Pending): void {
  try {
    localStorage.setItem(stashKey(snapshot.panorama), JSON.stringify(snapshot));
  } catch {
    /* quota or storage unavailable: the edits stay in memory */
  }
}

export function clearStash(panorama: number): void {
  localStorage.removeItem(stashKey(panorama));
}

/** The server set a snapshot was based on (old snapshots stored it by uid). */
export function snapshotBase(snapshot: Pending): BaseSet {
  if (snapshot.baseById) return new BaseSet(snapshot.baseById);
  return BaseSet.of(snapshot.base ?? [], new Map(snapshot.serverIds));
}

/** Same content in the same order, ignoring ids and local uids. */
export function sameContent(a: Inst[], b: Inst[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((inst, k) => sameInst(inst, b[k]));
}

export class Saver {
  state: SaveState = "saved";
  message = "";
  revision = 0;
  /** Server ids of instances (by local uid) that exist on the server at `revision`. */
  serverIds = new Map<string, number>();
  /** The server's set at `revision`. */
  base = new BaseSet([]);
  delayMs = 700;
  /** How the last save went out ("patch" or "put"), and its request body size (for tests). */
  lastSave: { method: string; upserts: number; deleted: number; bytes: number } | null = null;
  private timer: number | null = null;
  private inFlight = false;
  private savedEdit = 0;
  private attempt = 0;
  private listeners: ((s: SaveState) => void)[] = [];

  constructor(
    readonly store: Store,
    readonly panorama: number,
    public canEdit: boolean,
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

  /** Announce a state; "saved" reads "stashed" while edits wait in the stash to be re-applied. */
  set(state: SaveState, message = ""): void {
    if (state === "saved" && this.canEdit && readStash(this.panorama)) state = "stashed";
    this.state = state;
    this.message = message;
    for (const fn of this.listeners) fn(state);
  }

  /** The workflow state changed who may edit (approve, reopen, …). */
  setEditable(canEdit: boolean): void {
    this.canEdit = canEdit;
    if (!canEdit) {
      if (this.timer !== null) window.clearTimeout(this.timer);
      this.timer = null;
      if (this.dirty()) {
        // nothing is lost: the edits wait in the stash until the panorama is editable again
        this.stash();
        this.savedEdit = this.store.editCount;
        this.clearPending();
      }
      this.set("readonly");
    } else if (["readonly", "locked"].includes(this.state)) this.set("saved");
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
    this.base = BaseSet.of(insts, this.serverIds);
    this.savedEdit = this.store.editCount;
    return insts;
  }

  dirty(): boolean {
    return this.store.editCount !== this.savedEdit;
  }

  private onEdit(): void {
    if (!this.canEdit || this.state === "conflict" || this.state === "locked") {
      // edits made after a conflict join the stash (a reload's reset is not an edit)
      if (this.state === "conflict" && this.dirty()) this.stash();
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
    try {
      localStorage.setItem(pendingKey(this.panorama), JSON.stringify(this.snapshot()));
    } catch {
      /* quota or storage unavailable */
    }
  }

  stash(): void {
    writeStash(this.snapshot());
  }

  /** The local set and the server set it is based on. */
  snapshot(): Pending {
    return {
      panorama: this.panorama,
      baseRevision: this.revision,
      instances: this.store.instances,
      serverIds: [...this.serverIds],
      baseById: this.base.pairs(),
      savedAt: Date.now(),
    };
  }

  clearPending(): void {
    localStorage.removeItem(pendingKey(this.panorama));
  }

  item(inst: Inst, id: number | null): InstanceData {
    return {
      id,
      label_class: inst.label_class,
      geometry: inst.geometry,
      source: inst.source,
      is_suggestion: inst.is_suggestion,
      score: inst.score,
      model_version: inst.model_version,
      attributes: inst.attributes,
    };
  }

  payload(instances: Inst[]): InstanceData[] {
    return instances.map((i) => this.item(i, this.serverIds.get(i.uid) ?? null));
  }

  /** Send the local set: a PATCH of what changed, or the whole set when the order needs it. */
  private async send(sent: Inst[]): Promise<void> {
    const url = `/api/panoramas/${this.panorama}/instances/`;
    const diff = diffSet(sent, this.serverIds, this.base);
    if (!diff.appendOnly) {
      const body = { revision: this.revision, instances: this.payload(sent) };
      const result = await api<InstancesResponse>("PUT", url, body);
      this.lastSave = { method: "put", upserts: sent.length, deleted: 0, bytes: JSON.stringify(body).length };
      this.serverIds.clear();
      result.instances.forEach((d, k) => {
        if (d.id != null && sent[k]) this.serverIds.set(sent[k].uid, d.id);
      });
      this.revision = result.revision;
      this.base = BaseSet.of(sent, this.serverIds);
      return;
    }
    const body = { revision: this.revision, upsert: diff.upserts.map((u) => this.item(u.inst, u.id)), delete: diff.deleted };
    const result = await api<PatchResponse>("PATCH", url, body);
    this.lastSave = { method: "patch", upserts: diff.upserts.length, deleted: diff.deleted.length, bytes: JSON.stringify(body).length };
    diff.upserts.forEach((u, k) => {
      const id = result.instances[k]?.id;
      if (id != null) this.serverIds.set(u.inst.uid, id);
    });
    const gone = new Set(diff.deleted);
    for (const [uid, id] of this.serverIds) if (gone.has(id)) this.serverIds.delete(uid);
    this.revision = result.revision;
    this.base = BaseSet.of(sent, this.serverIds);
  }

  /** Save now (when dirty); resolves when this attempt ends. */
  async save(): Promise<void> {
    if (!this.canEdit || this.state === "conflict" || this.state === "locked") return;
    if (this.inFlight) {
      this.schedule(200);
      return;
    }
    if (!this.dirty()) {
      this.set("saved");
      this.clearPending();
      return;
    }
    const sent = this.store.instances;
    const edit = this.store.editCount;
    this.inFlight = true;
    this.set("saving");
    try {
      await this.send(sent);
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
      } else if (err instanceof ApiError && err.status === 409 && err.body?.code === "annotations_locked") {
        this.stash();
        this.clearPending();
        this.savedEdit = this.store.editCount;
        this.set("locked", err.body.detail ?? "The panorama is read-only now.");
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
  for (const key of ["instances", "upsert"]) {
    if (body[key] && typeof body[key] === "object" && !Array.isArray(body[key])) {
      const [index, fields] = Object.entries(body[key])[0] as [string, Record<string, string[]>];
      const msgs = Object.values(fields).flat().join("; ");
      return key === "instances" ? `Instance ${Number(index) + 1} is invalid: ${msgs}` : `A changed instance is invalid: ${msgs}`;
    }
  }
  return body.detail || JSON.stringify(body).slice(0, 200);
}

/** Restore a pending set saved against the current revision (after a reload mid-save). */
export function restorePending(saver: Saver, store: Store, pending: Pending): void {
  saver.serverIds = new Map(pending.serverIds);
  store.reset(pending.instances);
  store.commit(pending.instances);
}
