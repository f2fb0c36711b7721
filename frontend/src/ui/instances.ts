/**
 * Data panel: the instances (class colour, parts/vertices, source), select, hide/show, delete,
 * change class; model suggestions (dashed) get accept / reject, and "accept all ≥ score".
 */
import type { Inst, Store } from "../store";
import { vertexCount } from "../store";
import type { ClassPanel } from "./classes";
import { clear, h } from "./dom";

export class InstancePanel {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private title: HTMLElement;
  private bar: HTMLElement;
  onFocus: ((inst: Inst) => void) | null = null;
  /** Accept / reject these suggestions (the workspace writes them to the server). */
  onDecide: ((action: "accept" | "reject", insts: Inst[]) => void) | null = null;
  onAcceptAbove: ((minScore: number) => void) | null = null;
  minScore = 0.5;
  /** Rows rendered (more on request): 500 rows of DOM cost ~0.4 s of style and layout. */
  shown = 100;
  busy = false;

  constructor(
    readonly store: Store,
    readonly classes: ClassPanel,
    readonly canEdit: boolean,
  ) {
    this.title = h("h2", {}, "Instances");
    this.list = h("ul", { class: "inst-list", id: "instance-list" });
    this.bar = h("div", { class: "suggestion-bar", id: "suggestion-bar", hidden: true });
    this.el = h("section", { class: "panel panel-grow", id: "data-panel" }, h("header", { class: "panel-head" }, this.title), this.bar, this.list);
  }

  render(): void {
    const store = this.store;
    clear(this.list);
    this.title.textContent = `Instances (${store.instances.length})`;
    this.renderBar();
    if (!store.instances.length) {
      this.list.appendChild(h("li", { class: "empty" }, "No instances yet. Press D and click on the image to draw a polygon."));
      return;
    }
    const selIndex = store.selected ? store.instances.findIndex((i) => i.uid === store.selected) : -1;
    const limit = Math.max(this.shown, selIndex + 1);
    store.instances.slice(0, limit).forEach((inst, k) => {
      const cls = this.classes.byId(inst.label_class);
      const hidden = store.hidden.has(inst.uid);
      const selected = store.selected === inst.uid;
      const select = h("select", { class: "class-select", title: "Class", disabled: !this.canEdit, onclick: (e: Event) => e.stopPropagation(), onchange: (e: Event) => store.update(inst.uid, { label_class: Number((e.target as HTMLSelectElement).value) }) },
        ...this.classes.classes.map((c) => h("option", { value: String(c.id), selected: c.id === inst.label_class }, c.name)));
      const parts = inst.geometry.length;
      const row = h("li", {
        class: `inst-row${selected ? " selected" : ""}${hidden ? " hidden" : ""}${inst.is_suggestion ? " suggestion" : ""}`,
        "data-uid": inst.uid,
        "data-index": k,
        onclick: () => {
          store.select(inst.uid);
          this.onFocus?.(inst);
        },
      },
        h("span", { class: "swatch", style: { background: cls?.color ?? "#888", borderStyle: inst.is_suggestion ? "dashed" : "solid" } }),
        h("span", { class: "inst-main" },
          h("span", { class: "inst-title" }, `#${k + 1} `, select),
          h("span", { class: "inst-meta" }, `${parts} part${parts === 1 ? "" : "s"} · ${vertexCount(inst.geometry)} vertices · `,
            h("span", { class: `source source-${inst.is_suggestion ? "suggestion" : inst.source}` }, inst.is_suggestion ? `suggestion${inst.score != null ? ` ${Math.round(inst.score * 100)}%` : ""}` : inst.source))),
        inst.is_suggestion && this.canEdit && h("button", { class: "icon-btn accept", title: "Accept this suggestion", "data-testid": "accept-suggestion", disabled: this.busy, onclick: (e: Event) => (e.stopPropagation(), this.onDecide?.("accept", [inst])) }, "✓"),
        inst.is_suggestion && this.canEdit && h("button", { class: "icon-btn danger", title: "Reject this suggestion", "data-testid": "reject-suggestion", disabled: this.busy, onclick: (e: Event) => (e.stopPropagation(), this.onDecide?.("reject", [inst])) }, "⊘"),
        h("button", { class: "icon-btn", title: hidden ? "Show" : "Hide", "data-testid": "toggle-visibility", onclick: (e: Event) => (e.stopPropagation(), store.toggleHidden(inst.uid)) }, hidden ? "◌" : "◉"),
        this.canEdit && h("button", { class: "icon-btn danger", title: "Delete instance", "data-testid": "delete-instance", onclick: (e: Event) => (e.stopPropagation(), store.remove(inst.uid)) }, "✕"),
      );
      this.list.appendChild(row);
    });
    const rest = store.instances.length - limit;
    if (rest > 0)
      this.list.appendChild(h("li", { class: "inst-more" },
        h("button", { class: "btn btn-small btn-ghost", id: "instances-more", onclick: () => ((this.shown = limit + 200), this.render()) }, `Show ${Math.min(200, rest)} more (${rest} not listed)`)));
    const sel = this.list.querySelector(".selected");
    if (sel && "scrollIntoView" in sel) (sel as HTMLElement).scrollIntoView({ block: "nearest" });
  }

  /** "N suggestions · accept all ≥ [score] · accept all / reject all" (editors only). */
  private renderBar(): void {
    const sugg = this.store.instances.filter((i) => i.is_suggestion);
    this.bar.hidden = !sugg.length || !this.canEdit;
    if (this.bar.hidden) return;
    const input = h("input", { type: "number", id: "accept-min-score", class: "score-input", min: "0", max: "1", step: "0.05", value: String(this.minScore), title: "Minimum score",
      onchange: (e: Event) => {
        const v = Number((e.target as HTMLInputElement).value);
        if (Number.isFinite(v)) this.minScore = Math.max(0, Math.min(1, v));
        this.renderBar();
      } });
    const above = sugg.filter((i) => (i.score ?? 0) >= this.minScore).length;
    this.bar.replaceChildren(
      h("span", { class: "suggestion-count" }, `${sugg.length} suggestion${sugg.length === 1 ? "" : "s"}`),
      h("span", { class: "grow" }),
      h("label", { class: "muted" }, "score ≥ ", input),
      h("button", { class: "btn btn-small btn-success", id: "accept-above", disabled: this.busy || !above, title: "Accept every suggestion with at least this score",
        onclick: () => this.onAcceptAbove?.(this.minScore) }, `Accept ${above}`),
    );
  }
}
