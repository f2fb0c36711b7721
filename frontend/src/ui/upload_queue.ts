/**
 * Upload queue: many files (dropped files and folders, or picked), two at a time, one progress
 * bar per file and one overall. Files up to DIRECT_LIMIT go in one multipart request; larger
 * ones as a resumable chunked upload (/api/uploads/): a dropped connection is retried with
 * backoff from the offset the server reports, and the session id is kept in localStorage so
 * dropping the same file again after a reload resumes it too. Each refusal shows the server's
 * reason on its file.
 */
import { csrfToken } from "../api";
import { h } from "./dom";
import { formatBytes } from "./project_nav";

export const DIRECT_LIMIT = 8 * 1024 * 1024;
export const CHUNK_BYTES = 4 * 1024 * 1024;
const PARALLEL = 2;
const RETRY_MS = [1000, 2000, 4000, 8000, 15000, 30000];

export type ItemState = "queued" | "uploading" | "retrying" | "done" | "refused" | "failed";

export interface StoredPanorama {
  id: number;
  original_name: string;
  thumbnail_url: string;
  width: number;
  height: number;
}

export interface UploadItem {
  file: File;
  path: string;
  state: ItemState;
  sent: number;
  message: string;
  panorama: StoredPanorama | null;
  el: HTMLElement;
  bar: HTMLElement;
  note: HTMLElement;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
  ) {
    super(body?.detail || body?.error || `HTTP ${status}`);
  }
}

/** One XHR (fetch has no upload progress); resolves with the JSON body, rejects HttpFailure
 * (an answer) or Error (no answer: network). */
function xhr(method: string, url: string, body: Document | XMLHttpRequestBodyInit | null, onProgress?: (loaded: number) => void, contentType?: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = new XMLHttpRequest();
    req.open(method, url);
    req.setRequestHeader("X-CSRFToken", csrfToken());
    req.setRequestHeader("Accept", "application/json");
    if (contentType) req.setRequestHeader("Content-Type", contentType);
    if (onProgress) req.upload.onprogress = (e) => onProgress(e.loaded);
    req.onload = () => {
      let data: any = null;
      try {
        data = req.responseText ? JSON.parse(req.responseText) : null;
      } catch {
        data = { detail: req.responseText.slice(0, 200) };
      }
      if (req.status >= 200 && req.status < 300) resolve(data);
      else reject(new HttpFailure(req.status, data));
    };
    req.onerror = () => reject(new Error("network error"));
    req.ontimeout = () => reject(new Error("timed out"));
    req.send(body);
  });
}

const sleep = (ms: number) => new Promise((r) => window.setTimeout(r, ms));

/** Every file under the dropped items (folders read recursively; hidden files skipped). */
export async function droppedFiles(data: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = Array.from(data.items ?? [])
    .map((item) => (item.kind === "file" && "webkitGetAsEntry" in item ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return Array.from(data.files).map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.name.startsWith(".")) return;
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}

export class UploadQueue {
  readonly el: HTMLElement;
  items: UploadItem[] = [];
  onStored: ((p: StoredPanorama) => void) | null = null;
  private list: HTMLElement;
  private overallBar: HTMLElement;
  private overallText: HTMLElement;
  private running = 0;

  constructor(readonly projectId: number) {
    this.list = h("ul", { class: "upload-list", id: "upload-list" });
    this.overallBar = h("span", { class: "progress-fill", id: "upload-overall-fill", style: { width: "0%" } });
    this.overallText = h("span", { class: "muted", id: "upload-overall-text" }, "Nothing uploaded yet.");
    this.el = h("div", { class: "upload-queue" },
      h("div", { class: "upload-overall" }, h("div", { class: "progress-line" }, h("b", {}, "Overall"), this.overallText), h("div", { class: "progress-track" }, this.overallBar)),
      this.list);
  }

  add(files: { file: File; path: string }[]): void {
    for (const { file, path } of files) {
      const bar = h("span", { class: "progress-fill", style: { width: "0%" } });
      const note = h("span", { class: "upload-note" }, "Queued");
      const el = h("li", { class: "upload-item", "data-name": file.name, "data-state": "queued" },
        h("div", { class: "upload-line" }, h("span", { class: "upload-name ellipsis", title: path }, path), h("span", { class: "muted small nowrap" }, formatBytes(file.size)), note),
        h("div", { class: "progress-track" }, bar));
      this.list.appendChild(el);
      this.items.push({ file, path, state: "queued", sent: 0, message: "", panorama: null, el, bar, note });
    }
    this.renderOverall();
    this.pump();
  }

  private pump(): void {
    while (this.running < PARALLEL) {
      const next = this.items.find((i) => i.state === "queued");
      if (!next) return;
      this.running += 1;
      this.set(next, "uploading", "Uploading…");
      const job = next.file.size > DIRECT_LIMIT ? this.chunked(next) : this.direct(next);
      void job.finally(() => {
        this.running -= 1;
        this.pump();
      });
    }
  }

  private set(item: UploadItem, state: ItemState, message: string): void {
    item.state = state;
    item.message = message;
    item.el.dataset.state = state;
    item.note.textContent = message;
    item.note.className = `upload-note note-${state}`;
    item.bar.className = `progress-fill fill-${state === "done" ? "ready" : state === "refused" || state === "failed" ? "failed" : "running"}`;
    if (state === "done" || state === "refused") item.sent = item.file.size;
    this.progress(item, item.sent);
  }

  private progress(item: UploadItem, sent: number): void {
    item.sent = Math.min(sent, item.file.size);
    item.bar.style.width = `${item.file.size ? (100 * item.sent) / item.file.size : 100}%`;
    this.renderOverall();
  }

  private renderOverall(): void {
    const total = this.items.reduce((s, i) => s + i.file.size, 0);
    const sent = this.items.reduce((s, i) => s + i.sent, 0);
    const count = (state: ItemState) => this.items.filter((i) => i.state === state).length;
    this.overallBar.style.width = `${total ? (100 * sent) / total : 0}%`;
    const parts = [`${count("done")} of ${this.items.length} stored`, `${formatBytes(sent)} of ${formatBytes(total)}`];
    if (count("refused")) parts.push(`${count("refused")} refused`);
    if (count("failed")) parts.push(`${count("failed")} failed`);
    this.overallText.textContent = parts.join(" · ");
    this.el.dataset.pending = String(this.items.filter((i) => !["done", "refused", "failed"].includes(i.state)).length);
  }

  private stored(item: UploadItem, panorama: StoredPanorama): void {
    item.panorama = panorama;
    this.set(item, "done", "Stored");
    this.onStored?.(panorama);
  }

  /** One multipart request; network failures are retried, refusals are final. */
  private async direct(item: UploadItem): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const form = new FormData();
      form.append("project", String(this.projectId));
      form.append("files", item.file, item.file.name);
      try {
        const body = await xhr("POST", "/api/panoramas/", form, (n) => this.progress(item, n));
        this.stored(item, body.created[0]);
        return;
      } catch (err) {
        if (err instanceof HttpFailure) {
          const reason = err.body?.errors?.[0]?.error ?? err.body?.detail ?? err.message;
          this.set(item, err.status === 400 ? "refused" : "failed", reason);
          return;
        }
        if (attempt >= RETRY_MS.length) return this.set(item, "failed", `Connection lost: ${(err as Error).message}`);
        this.set(item, "retrying", `Connection lost — retrying in ${RETRY_MS[attempt] / 1000} s`);
        await sleep(RETRY_MS[attempt]);
        this.set(item, "uploading", "Uploading…");
      }
    }
  }

  /** A resumable upload in CHUNK_BYTES pieces. */
  private async chunked(item: UploadItem): Promise<void> {
    const f = item.file;
    const key = `label360:upload:${this.projectId}:${f.name}:${f.size}:${f.lastModified}`;
    let session: { id: number; received: number } | null = null;
    const remembered = localStorage.getItem(key);
    if (remembered) {
      try {
        session = await xhr("GET", `/api/uploads/${remembered}/`, null);
        if (session) this.progress(item, session.received);
      } catch {
        session = null;
      }
    }
    let failures = 0;
    for (;;) {
      try {
        if (!session) {
          session = await xhr("POST", "/api/uploads/", JSON.stringify({ project: this.projectId, filename: f.name, size: f.size }), undefined, "application/json");
          localStorage.setItem(key, String(session!.id));
        }
        const s = session!;
        while (s.received < f.size) {
          const piece = f.slice(s.received, Math.min(f.size, s.received + CHUNK_BYTES));
          const base = s.received;
          const answer = await xhr("PUT", `/api/uploads/${s.id}/chunk/?offset=${base}`, piece, (n) => this.progress(item, base + n), "application/octet-stream");
          s.received = answer.received;
          this.progress(item, s.received);
          failures = 0;
          if (item.state === "retrying") this.set(item, "uploading", "Uploading…");
        }
        this.set(item, "uploading", "Checking…");
        const done = await xhr("POST", `/api/uploads/${s.id}/complete/`, null);
        localStorage.removeItem(key);
        this.stored(item, done.panorama);
        return;
      } catch (err) {
        if (err instanceof HttpFailure) {
          if (err.status === 409 && session && typeof err.body?.received === "number") {
            session.received = err.body.received; // the server has more (or less) than we thought
            this.progress(item, session.received);
            continue;
          }
          if (err.status === 404 && session) {
            session = null; // expired on the server: start again
            localStorage.removeItem(key);
            continue;
          }
          localStorage.removeItem(key);
          const reason = err.body?.error ?? err.body?.detail ?? err.message;
          this.set(item, err.status === 400 ? "refused" : "failed", reason);
          return;
        }
        if (failures >= RETRY_MS.length) return this.set(item, "failed", `Connection lost: ${(err as Error).message}`);
        this.set(item, "retrying", `Connection lost — resuming in ${RETRY_MS[failures] / 1000} s`);
        await sleep(RETRY_MS[failures]);
        failures += 1;
        if (session) {
          try {
            session = await xhr("GET", `/api/uploads/${session.id}/`, null);
            this.progress(item, session!.received);
          } catch {
            /* still offline: the next attempt tries again */
          }
        }
      }
    }
  }
}
