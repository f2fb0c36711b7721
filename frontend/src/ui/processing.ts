/**
 * Processing from the navigator (managers): start any registered job kind on the selected
 * panoramas or the whole project with its parameter form (built from GET /api/job-kinds/, so
 * new kinds appear without UI changes), and follow the project's jobs — progress, results
 * (asset downloads and the result summary), errors — with cancel and retry.
 */
import { api, apiList } from "../api";
import { h, toast } from "./dom";
import { type Job, type JobKind, type JobKindField, errorText } from "./manager_api";
import { field, openDialog } from "./modal";
import { formatDate } from "./project_nav";

const POLL_MS = 1500;
const ACTIVE = new Set(["queued", "running"]);

function control(f: JobKindField): HTMLInputElement | HTMLSelectElement {
  const id = `param-${f.name}`;
  if (f.type === "bool") return h("input", { type: "checkbox", id, name: f.name, checked: f.initial === true });
  if (f.type === "choice") {
    return h("select", { id, name: f.name }, ...(f.choices ?? []).map(([v, label]) => h("option", { value: v, selected: String(f.initial ?? "") === v }, label)));
  }
  const attrs: Record<string, unknown> = { id, name: f.name, value: f.initial === null || f.initial === undefined ? "" : String(f.initial) };
  if (f.type === "int" || f.type === "float") {
    attrs.type = "number";
    attrs.step = f.type === "int" ? "1" : "any";
    if (f.min !== null && f.min !== undefined) attrs.min = String(f.min);
    if (f.max !== null && f.max !== undefined) attrs.max = String(f.max);
  } else attrs.type = "text";
  return h("input", attrs);
}

/** The form's values as the server's form expects them (booleans true/false, empty omitted). */
function values(fields: JobKindField[], controls: Map<string, HTMLInputElement | HTMLSelectElement>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const c = controls.get(f.name)!;
    if (f.type === "bool") out[f.name] = (c as HTMLInputElement).checked;
    else if (c.value !== "") out[f.name] = c.value;
  }
  return out;
}

export class ProcessingPanel {
  readonly el: HTMLElement;
  kinds: JobKind[] = [];
  jobs: Job[] = [];
  private list: HTMLElement;
  private timer = 0;

  constructor(
    readonly projectId: number,
    readonly selected: () => number[],
  ) {
    this.list = h("ul", { class: "job-list", id: "job-list" });
    this.el = h("details", { class: "box processing-panel", id: "processing-panel" },
      h("summary", { class: "box-head" }, h("h2", { class: "box-title" }, "Processing"), h("span", { class: "muted small", id: "jobs-summary" })),
      this.list);
  }

  async load(): Promise<void> {
    [this.kinds] = await Promise.all([api<JobKind[]>("GET", "/api/job-kinds/"), this.refresh()]);
  }

  async refresh(): Promise<void> {
    try {
      this.jobs = (await api<{ results: Job[] }>("GET", `/api/jobs/?project=${this.projectId}&ordering=-created_at&page_size=30`)).results;
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    this.render();
    window.clearTimeout(this.timer);
    if (this.jobs.some((j) => ACTIVE.has(j.status))) this.timer = window.setTimeout(() => void this.refresh(), POLL_MS);
  }

  private render(): void {
    const running = this.jobs.filter((j) => ACTIVE.has(j.status)).length;
    const summary = this.el.querySelector("#jobs-summary");
    if (summary) summary.textContent = this.jobs.length ? `${running} running or queued · ${this.jobs.length} recent` : "no jobs yet";
    if (running) (this.el as HTMLDetailsElement).open = true;
    // system jobs (the upload's thumbnail and tiles) are not offered as kinds: name them plainly
    const label = (kind: string) => this.kinds.find((k) => k.name === kind)?.label ?? kind.charAt(0).toUpperCase() + kind.slice(1).replace(/_/g, " ");
    // polling re-renders the list while jobs run: a result someone opened stays open
    const opened = new Set(Array.from(this.list.querySelectorAll(".job-item:has(.job-details[open])")).map((li) => (li as HTMLElement).dataset.jobId));
    this.list.replaceChildren(...(this.jobs.length ? this.jobs.map((j) => {
      const fill = h("span", { class: `progress-fill fill-${j.status === "succeeded" ? "ready" : j.status === "failed" ? "failed" : ACTIVE.has(j.status) ? "running" : "ready"}`, style: { width: `${Math.round(100 * (j.status === "succeeded" ? 1 : j.progress))}%` } });
      const assets = j.assets.slice(0, 12).map((a) => h("a", { href: a.url, class: "asset-link", title: `Panorama ${a.panorama}` }, `${a.kind.replace(/_/g, " ")} · #${a.panorama}`));
      return h("li", { class: "job-item", "data-job-id": j.id, "data-kind": j.kind, "data-status": j.status },
        h("div", { class: "job-line" },
          h("span", { class: `badge job-${j.status}` }, j.status),
          h("b", {}, label(j.kind)),
          h("span", { class: "muted small" }, j.panoramas.length ? `${j.panoramas.length} panorama${j.panoramas.length === 1 ? "" : "s"}` : "whole project"),
          h("span", { class: "muted small" }, formatDate(j.created_at)),
          h("span", { class: "spacer" }),
          ACTIVE.has(j.status) && !j.cancel_requested ? h("button", { class: "btn btn-small", "data-testid": "cancel-job", onclick: () => void this.act(j, "cancel") }, "Cancel") : null,
          j.cancel_requested && ACTIVE.has(j.status) ? h("span", { class: "muted small" }, "cancelling…") : null,
          ["failed", "cancelled"].includes(j.status) ? h("button", { class: "btn btn-small", "data-testid": "retry-job", onclick: () => void this.act(j, "retry") }, "Retry") : null),
        h("div", { class: "progress-track" }, fill),
        j.message && !["queued", "done", j.status].includes(j.message) ? h("div", { class: "muted small" }, j.message) : null,
        j.error ? h("div", { class: "job-error" }, j.error) : null,
        j.status === "succeeded" && (assets.length || j.result) ? h("div", { class: "job-result" }, assets.length ? h("div", { class: "asset-links" }, ...assets) : null, ...resultSummary(j.result, opened.has(String(j.id)))) : null);
    }) : [h("li", { class: "empty" }, "No processing jobs yet.")]));
  }

  private async act(job: Job, what: "cancel" | "retry"): Promise<void> {
    try {
      await api("POST", `/api/jobs/${job.id}/${what}/`);
    } catch (err) {
      toast(errorText(err), "error");
    }
    await this.refresh();
  }

  /** The "Process…" dialog: pick a kind, fill its form, run on the selection or the project. */
  async open(): Promise<void> {
    if (!this.kinds.length) await this.load();
    const selection = this.selected();
    const usable = this.kinds.filter((k) => k.targets.includes(selection.length ? "panorama" : "project"));
    if (!usable.length) {
      toast(selection.length ? "No processing runs on chosen panoramas." : "No processing runs on a whole project.", "error");
      return;
    }
    const kindSelect = h("select", { id: "job-kind" }, ...usable.map((k) => h("option", { value: k.name }, k.label)));
    const desc = h("p", { class: "hint", id: "job-kind-desc" });
    const host = h("div", { class: "kind-fields", id: "job-fields" });
    let controls = new Map<string, HTMLInputElement | HTMLSelectElement>();
    const renderFields = () => {
      const kind = usable.find((k) => k.name === kindSelect.value)!;
      desc.textContent = kind.description;
      controls = new Map(kind.fields.map((f) => [f.name, control(f)]));
      host.replaceChildren(...kind.fields.map((f) => (f.type === "bool"
        ? h("label", { class: "check" }, controls.get(f.name)!, f.label, f.help ? h("span", { class: "hint" }, ` — ${f.help}`) : null)
        : field(f.label + (f.required ? "" : " (optional)"), controls.get(f.name)!, f.help))));
    };
    kindSelect.addEventListener("change", renderFields);
    renderFields();
    const target = selection.length ? `${selection.length} selected panorama${selection.length === 1 ? "" : "s"}` : "the whole project";
    const dialog = openDialog<{ jobs: Job[]; duplicates: Job[] }>({
      title: `Process ${target}`,
      id: "process-dialog",
      wide: true,
      okLabel: "Start",
      body: [field("Processing", kindSelect), desc, host],
      submit: async () => {
        const kind = usable.find((k) => k.name === kindSelect.value)!;
        try {
          return await api("POST", `/api/job-kinds/${kind.name}/run/`, { project: this.projectId, panoramas: selection, fields: values(kind.fields, controls) });
        } catch (err) {
          throw new Error(errorText(err));
        }
      },
    });
    const done = await dialog.result;
    if (!done) return;
    toast(`${done.jobs.length} job${done.jobs.length === 1 ? "" : "s"} started${done.duplicates.length ? `, ${done.duplicates.length} already queued or running` : ""}.`);
    (this.el as HTMLDetailsElement).open = true;
    await this.refresh();
  }
}

/** A job's result as people read it: its top-level figures and notes on one line, the whole
 *  record (per-panorama details) behind a toggle. */
function resultSummary(result: Record<string, unknown> | null, open: boolean): HTMLElement[] {
  if (!result || !Object.keys(result).length) return [];
  const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n)}…` : text);
  const shown = (v: unknown) => (typeof v === "number" ? String(Number.isInteger(v) ? v : Number(v.toPrecision(4))) : clip(String(v), 160));
  const figures = Object.entries(result)
    .filter(([, v]) => ["string", "number", "boolean"].includes(typeof v))
    .slice(0, 8)
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${shown(v)}`);
  const full = JSON.stringify(result, null, 2);
  const details: HTMLElement = h("details", { class: "job-details", open }, h("summary", {}, "Details"), h("pre", {}, clip(full, 20000)));
  return figures.length ? [h("div", { class: "job-figures" }, figures.join(" · ")), details] : [details];
}

/** Members a panorama may be assigned to (not viewers). */
export async function assignableMembers(projectId: number): Promise<{ username: string; role: string }[]> {
  const members = await apiList<{ username: string; role: string }>(`/api/memberships/?project=${projectId}&page_size=1000`);
  return members.filter((m) => m.role !== "viewer").sort((a, b) => a.username.localeCompare(b.username));
}
