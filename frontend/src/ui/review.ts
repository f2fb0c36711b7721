/**
 * Review history of the panorama (GET /api/panoramas/ID/events/, newest first): a collapsible
 * panel listing submit / approve / reject / reopen with who, when and the comment. When the
 * panorama is rejected the panel opens and the latest rejection comment is shown on top, so the
 * annotator sees what needs fixing.
 */
import { api } from "../api";
import type { ReviewEvent } from "../types";
import { h } from "./dom";

const LABELS: Record<string, string> = {
  submit: "Submitted",
  approve: "Approved",
  reject: "Rejected",
  reopen: "Reopened",
};

export class ReviewPanel {
  readonly el: HTMLDetailsElement;
  private summary: HTMLElement;
  private body: HTMLElement;
  events: ReviewEvent[] = [];
  loaded = false;

  constructor(readonly panoramaId: number) {
    this.summary = h("summary", { class: "panel-head review-summary" }, h("h2", {}, "Review history"));
    this.body = h("div", { class: "review-body" }, h("div", { class: "empty" }, "Loading…"));
    this.el = h("details", { class: "panel review-panel", id: "review-panel" }, this.summary, this.body);
  }

  async load(status: string): Promise<void> {
    try {
      const data = await api<ReviewEvent[] | { results: ReviewEvent[] }>("GET", `/api/panoramas/${this.panoramaId}/events/`);
      this.events = Array.isArray(data) ? data : data.results;
      this.loaded = true;
      this.render(status);
    } catch (err) {
      this.body.replaceChildren(h("div", { class: "empty" }, `Could not load the review history: ${(err as Error).message}`));
    }
  }

  /** The latest rejection, when it is the panorama's current state. */
  currentRejection(status: string): ReviewEvent | null {
    if (status !== "rejected") return null;
    return this.events.find((e) => e.action === "reject") ?? null;
  }

  render(status: string): void {
    const n = this.events.length;
    this.summary.replaceChildren(
      h("h2", {}, "Review history"),
      h("span", { class: "count", id: "review-count" }, String(n)),
    );
    const rejection = this.currentRejection(status);
    const items: HTMLElement[] = [];
    if (rejection) {
      items.push(
        h("div", { class: "review-callout", id: "review-rejection" },
          h("strong", {}, `Rejected by ${rejection.username ?? "a reviewer"}`),
          h("span", { class: "muted" }, ` · ${when(rejection.created_at)}`),
          h("p", { class: "review-comment" }, rejection.comment || "(no comment)")),
      );
      this.el.open = true;
    }
    if (!n) items.push(h("div", { class: "empty" }, "No reviews yet."));
    else
      items.push(
        h("ol", { class: "review-list", id: "review-list" },
          ...this.events.map((e) =>
            h("li", { class: `review-item review-${e.action}`, "data-action": e.action },
              h("div", { class: "review-line" },
                h("span", { class: `badge review-badge review-badge-${e.action}` }, LABELS[e.action] ?? e.action),
                h("span", { class: "review-user" }, e.username ?? "—"),
                h("span", { class: "muted review-when", title: new Date(e.created_at).toLocaleString() }, when(e.created_at))),
              e.comment ? h("p", { class: "review-comment" }, e.comment) : null,
            ),
          ),
        ),
      );
    this.body.replaceChildren(...items);
  }
}

/** "3 min ago", "yesterday", else a date. */
export function when(iso: string, now = Date.now()): string {
  const t = new Date(iso).getTime();
  if (!Number.isFinite(t)) return iso;
  const s = Math.max(0, (now - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 2 * 86400) return "yesterday";
  return new Date(t).toLocaleDateString();
}
