/**
 * Data panel: the instances (class colour, parts/vertices, source), select, hide/show, hide all
 * others, lock, zoom to fit, delete, change class, search; the selected instance's attributes
 * (per its class's schema); model suggestions (dashed) get accept / reject, and "accept all ≥
 * score"; beside them, each model's provenance (trained on what, validation IoU per class,
 * whether its scores are calibrated).
 */
import type { Inst, Store } from "../store";
import { vertexCount } from "../store";
import type { ClassPanel } from "./classes";
import type { AttributeSpec } from "./manager_api";
import { clear, h } from "./dom";

/** GET /api/prelabel/provenance/: where a model's suggestions come from and how good it is. */
export interface Provenance {
  name: string;
  version: string;
  trained_on: string;
  panoramas: number | null;
  validation_panoramas: number | null;
  validation_iou: Record<string, number>;
  calibrated: boolean;
  class_precision: Record<string, number | null>;
  measured?: string;
}

export class InstancePanel {
  readonly el: HTMLElement;
  private list: HTMLElement;
  private rendering = false;
  private title: HTMLElement;
  private bar: HTMLElement;
  private provenanceEl: HTMLElement;
  /** Provenance per model_version (filled by the workspace through onProvenance). */
  provenance: Record<string, Provenance> = {};
  /** model_version texts already asked for (answered or not: no request loop). */
  private provenanceAsked = new Set<string>();
  /** Fetch the provenance of these model versions; the workspace calls setProvenance. */
  onProvenance: ((versions: string[]) => void) | null = null;
  onFocus: ((inst: Inst) => void) | null = null;
  /** Accept / reject these suggestions (the workspace writes them to the server). */
  onDecide: ((action: "accept" | "reject", insts: Inst[]) => void) | null = null;
  onAcceptAbove: ((minScore: number) => void) | null = null;
  /** Turn the camera to the instance and narrow the FOV to frame it. */
  onFit: ((inst: Inst) => void) | null = null;
  /** Search text: class name, #index, source or attribute value. */
  query = "";
  readonly search: HTMLInputElement;
  minScore = 0.5;
  /** Rows rendered (more on request): 500 rows of DOM cost ~0.4 s of style and layout. */
  shown = 100;
  /** The first listed row (of the filtered list): a window of `shown` rows, moved to the
   * selection when it lies outside, so selecting instance #4,000 renders ~100 rows, not 4,000. */
  start = 0;
  busy = false;

  constructor(
    readonly store: Store,
    readonly classes: ClassPanel,
    public canEdit: boolean,
  ) {
    this.title = h("h2", {}, "Instances");
    this.list = h("ul", { class: "inst-list", id: "instance-list" });
    this.bar = h("div", { class: "suggestion-bar", id: "suggestion-bar", hidden: true });
    this.provenanceEl = h("div", { class: "provenance-list", id: "suggestion-provenance", hidden: true });
    this.search = h("input", { type: "search", class: "panel-search", id: "instance-search", placeholder: "Search instances (class, #n, attribute) — /" });
    this.search.addEventListener("input", () => {
      this.query = this.search.value.trim().toLowerCase();
      this.start = 0;
      this.render();
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Escape") (this.search.value = ""), (this.query = ""), (this.start = 0), this.render(), this.search.blur();
    });
    this.el = h("section", { class: "panel panel-grow", id: "data-panel" }, h("header", { class: "panel-head" }, this.title), this.search, this.bar, this.provenanceEl, this.list);
  }

  render(): void {
    const store = this.store;
    // A re-render (an autosave finishing, another control's change) must not drop what the
    // user is typing into an attribute field: remember it and put it back below.
    const typing = this.typingInAttribute();
    this.rendering = true; // removing a focused field may fire blur: that is not the user's edit
    clear(this.list);
    this.rendering = false;
    this.title.textContent = `Instances (${store.instances.length})`;
    this.renderBar();
    if (!store.instances.length) {
      this.list.appendChild(h("li", { class: "empty" }, "No instances yet. Press D and click on the image to draw a polygon."));
      return;
    }
    const q = this.query;
    const indexed = store.instances.map((inst, k) => ({ inst, k })).filter(({ inst, k }) => !q || this.matches(inst, k, q));
    if (q) this.title.textContent = `Instances (${indexed.length} of ${store.instances.length})`;
    const selIndex = store.selected ? indexed.findIndex(({ inst }) => inst.uid === store.selected) : -1;
    let start = Math.max(0, Math.min(this.start, indexed.length - 1));
    if (selIndex >= 0 && (selIndex < start || selIndex >= start + this.shown)) start = selIndex < this.shown ? 0 : selIndex - 10;
    this.start = start;
    const limit = Math.min(indexed.length, start + this.shown);
    if (start > 0)
      this.list.appendChild(h("li", { class: "inst-more" },
        h("button", { class: "btn btn-small btn-ghost", id: "instances-previous", onclick: () => {
          const from = Math.max(0, start - 200);
          this.shown = limit - from;
          this.start = from;
          this.render();
        } }, `Show ${Math.min(200, start)} previous (${start} not listed)`)));
    indexed.slice(start, limit).forEach(({ inst, k }) => {
      const cls = this.classes.byId(inst.label_class);
      const hidden = store.hidden.has(inst.uid);
      const locked = store.locked.has(inst.uid);
      const selected = store.selected === inst.uid;
      const select = h("select", { class: "class-select", title: "Class", disabled: !this.canEdit || locked, onclick: (e: Event) => e.stopPropagation(), onchange: (e: Event) => store.update(inst.uid, { label_class: Number((e.target as HTMLSelectElement).value) }) },
        ...this.classes.classes.map((c) => h("option", { value: String(c.id), selected: c.id === inst.label_class }, c.name)));
      const parts = inst.geometry.length;
      const row = h("li", {
        class: `inst-row${selected ? " selected" : ""}${hidden ? " hidden" : ""}${locked ? " locked" : ""}${inst.is_suggestion ? " suggestion" : ""}`,
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
            h("span", { class: `source source-${inst.is_suggestion ? "suggestion" : inst.source}`, title: inst.is_suggestion ? this.suggestionTitle(inst, cls?.name) : "" }, inst.is_suggestion ? `suggestion${inst.score != null ? ` ${Math.round(inst.score * 100)}%` : ""}` : inst.source))),
        inst.is_suggestion && this.canEdit && h("button", { class: "icon-btn accept", title: "Accept this suggestion", "data-testid": "accept-suggestion", disabled: this.busy, onclick: (e: Event) => (e.stopPropagation(), this.onDecide?.("accept", [inst])) }, "✓"),
        inst.is_suggestion && this.canEdit && h("button", { class: "icon-btn danger", title: "Reject this suggestion", "data-testid": "reject-suggestion", disabled: this.busy, onclick: (e: Event) => (e.stopPropagation(), this.onDecide?.("reject", [inst])) }, "⊘"),
        h("button", { class: "icon-btn", title: "Zoom to fit (F)", "data-testid": "fit-instance", onclick: (e: Event) => (e.stopPropagation(), store.select(inst.uid), this.onFit?.(inst)) }, "⤢"),
        h("button", { class: "icon-btn", title: hidden ? "Show (H)" : "Hide (H)", "data-testid": "toggle-visibility", onclick: (e: Event) => (e.stopPropagation(), store.toggleHidden(inst.uid)) }, hidden ? "◌" : "◉"),
        h("button", { class: "icon-btn", title: "Hide all others / show all (Shift+H)", "data-testid": "solo-instance", onclick: (e: Event) => (e.stopPropagation(), store.soloToggle(inst.uid)) }, "◎"),
        h("button", { class: `icon-btn${locked ? " on" : ""}`, title: locked ? "Unlock (L)" : "Lock: no picking, moving or deleting in the view (L)", "data-testid": "toggle-lock", onclick: (e: Event) => (e.stopPropagation(), store.toggleLocked(inst.uid)) }, lockIcon(locked)),
        this.canEdit && h("button", { class: "icon-btn danger", title: "Delete instance", "data-testid": "delete-instance", disabled: locked, onclick: (e: Event) => (e.stopPropagation(), store.remove(inst.uid)) }, "✕"),
      );
      this.list.appendChild(row);
      if (selected && (cls?.attribute_schema ?? []).length) this.list.appendChild(this.attributeForm(inst, cls!.attribute_schema!, locked));
    });
    const rest = indexed.length - limit;
    if (rest > 0)
      this.list.appendChild(h("li", { class: "inst-more" },
        h("button", { class: "btn btn-small btn-ghost", id: "instances-more", onclick: () => ((this.shown = limit - start + 200), this.render()) }, `Show ${Math.min(200, rest)} more (${rest} not listed)`)));
    const sel = this.list.querySelector(".selected");
    if (sel && "scrollIntoView" in sel) (sel as HTMLElement).scrollIntoView({ block: "nearest" });
    if (typing) this.restoreTyping(typing);
  }

  private typingInAttribute(): { uid: string; attr: string; value: string; from: number | null; to: number | null } | null {
    const el = document.activeElement;
    const form = this.list.querySelector("#attribute-form") as HTMLElement | null;
    if (!(el instanceof HTMLInputElement) || el.type !== "text" || !form?.contains(el)) return null;
    return { uid: form.dataset.uid ?? "", attr: el.dataset.attr ?? "", value: el.value, from: el.selectionStart, to: el.selectionEnd };
  }

  private restoreTyping(t: { uid: string; attr: string; value: string; from: number | null; to: number | null }): void {
    const form = this.list.querySelector("#attribute-form") as HTMLElement | null;
    if (!form || form.dataset.uid !== t.uid) return;
    const input = Array.from(form.querySelectorAll("input[type=text]")).find((i) => (i as HTMLInputElement).dataset.attr === t.attr) as HTMLInputElement | undefined;
    if (!input || input.disabled) return;
    input.value = t.value;
    input.focus();
    if (t.from !== null && t.to !== null) input.setSelectionRange(t.from, t.to);
  }

  private matches(inst: Inst, k: number, q: string): boolean {
    if (q.startsWith("#")) return String(k + 1) === q.slice(1);
    const name = this.classes.byId(inst.label_class)?.name.toLowerCase() ?? "";
    if (name.includes(q) || inst.source.includes(q) || (inst.is_suggestion && "suggestion".includes(q))) return true;
    return Object.entries(inst.attributes ?? {}).some(([key, v]) => key.toLowerCase().includes(q) || String(v).toLowerCase().includes(q));
  }

  /** The selected instance's attributes, one control per schema entry; each change is an edit. */
  private attributeForm(inst: Inst, schema: AttributeSpec[], locked: boolean): HTMLElement {
    const ro = !this.canEdit || locked;
    const set = (name: string, value: unknown) => {
      // the store's current copy: several controls may change before the panel re-renders
      const current = this.store.get(inst.uid)?.attributes ?? {};
      if ((value === null || value === "") ? !(name in current) : current[name] === value) return;
      const next = { ...current };
      if (value === null || value === "") delete next[name];
      else next[name] = value;
      this.store.update(inst.uid, { attributes: next });
    };
    const value = (name: string) => (inst.attributes ?? {})[name];
    const rows = schema.flatMap((spec) => {
      const id = `attr-${spec.name.replace(/\W+/g, "_")}`;
      let control: HTMLElement;
      if (spec.type === "bool") {
        control = h("input", { type: "checkbox", id, "data-attr": spec.name, checked: value(spec.name) === true, disabled: ro, onchange: (e: Event) => set(spec.name, (e.target as HTMLInputElement).checked) });
      } else if (spec.type === "enum") {
        control = h("select", { id, "data-attr": spec.name, disabled: ro, onchange: (e: Event) => set(spec.name, (e.target as HTMLSelectElement).value || null) },
          h("option", { value: "" }, "—"), ...(spec.options ?? []).map((o) => h("option", { value: o, selected: value(spec.name) === o }, o)));
      } else {
        control = h("input", { type: "text", id, "data-attr": spec.name, value: String(value(spec.name) ?? ""), maxlength: 1000, disabled: ro,
          // blur as well as change: a value restored after a re-render fires no change event
          onchange: (e: Event) => set(spec.name, (e.target as HTMLInputElement).value),
          onblur: (e: Event) => this.rendering || set(spec.name, (e.target as HTMLInputElement).value) });
      }
      return [h("label", { for: id }, spec.name), control];
    });
    return h("li", { class: "attr-form", id: "attribute-form", "data-uid": inst.uid }, ...rows);
  }

  /** Store fetched provenance (versions without an answer stay unknown) and re-render. */
  setProvenance(models: Record<string, Provenance>): void {
    this.provenance = { ...this.provenance, ...models };
    this.render(); // the rows' hover text names the model's validation too
  }

  /** Hover text of a suggestion: its model and that model's validation for the class. */
  private suggestionTitle(inst: Inst, className: string | undefined): string {
    const p = this.provenance[inst.model_version];
    if (!p) return inst.model_version ? `Suggested by ${inst.model_version}` : "Model suggestion";
    const iou = className !== undefined ? p.validation_iou[className] : undefined;
    return `Suggested by ${p.name} ${p.version}${iou !== undefined ? ` · validation IoU for ${className}: ${iou.toFixed(2)}` : ""}${p.calibrated ? " · calibrated score" : " · score not calibrated"}`;
  }

  /** One line per model behind the listed suggestions (for everyone who sees them). */
  private renderProvenance(): void {
    const versions = [...new Set(this.store.instances.filter((i) => i.is_suggestion).map((i) => i.model_version))];
    const missing = versions.filter((v) => !this.provenanceAsked.has(v));
    if (missing.length && this.onProvenance) {
      missing.forEach((v) => this.provenanceAsked.add(v));
      this.onProvenance(missing);
    }
    this.provenanceEl.hidden = !versions.length;
    this.provenanceEl.replaceChildren(...versions.map((v) => provenanceItem(v, this.provenance[v])));
  }

  /** "N suggestions · accept all ≥ [score] · accept all / reject all" (editors only). */
  private renderBar(): void {
    this.renderProvenance();
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

/** A model's provenance: a summary line, validation IoU per class and calibration inside. */
function provenanceItem(version: string, p: Provenance | undefined): HTMLElement {
  if (!p)
    return h("div", { class: "provenance unknown", "data-version": version }, h("span", { class: "muted" }, `${version || "model"}: provenance not recorded`));
  const classes = Object.entries(p.validation_iou);
  const precision = Object.entries(p.class_precision).filter((e): e is [string, number] => e[1] != null);
  const trained = p.panoramas != null ? `${p.trained_on} (${p.panoramas} panorama${p.panoramas === 1 ? "" : "s"})` : p.trained_on;
  return h("details", { class: "provenance", "data-version": version },
    h("summary", {}, h("strong", {}, `${p.name} ${p.version}`), " · ", trained || "trained on: not recorded"),
    h("div", { class: "provenance-iou" }, classes.length
      ? `Validation IoU${p.validation_panoramas ? ` (${p.validation_panoramas} panorama${p.validation_panoramas === 1 ? "" : "s"})` : ""}: ${classes.map(([c, v]) => `${c} ${v.toFixed(2)}`).join(" · ")}`
      : "No validation on this project's panoramas."),
    h("div", { class: "provenance-calibration" }, p.calibrated
      ? `Scores calibrated on the validation panoramas (a score is the probability of IoU ≥ 0.5)${precision.length ? `; precision ${precision.map(([c, v]) => `${c} ${v.toFixed(2)}`).join(" · ")}` : ""}.`
      : "Scores are the model's own, not calibrated."),
    p.measured ? h("div", { class: "muted" }, `Measured: ${p.measured}`) : null,
  );
}

/** A padlock, closed or open (drawn: emoji fonts are not everywhere). */
function lockIcon(closed: boolean): SVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 12 14");
  svg.setAttribute("width", "11");
  svg.setAttribute("height", "13");
  svg.setAttribute("class", "lock-icon");
  const shackle = document.createElementNS(ns, "path");
  shackle.setAttribute("d", closed ? "M3 6V4a3 3 0 0 1 6 0v2" : "M3 6V4a3 3 0 0 1 6 0");
  shackle.setAttribute("fill", "none");
  shackle.setAttribute("stroke", "currentColor");
  shackle.setAttribute("stroke-width", "1.6");
  const body = document.createElementNS(ns, "rect");
  body.setAttribute("x", "1");
  body.setAttribute("y", "6");
  body.setAttribute("width", "10");
  body.setAttribute("height", "7.5");
  body.setAttribute("rx", "1.5");
  body.setAttribute("fill", closed ? "currentColor" : "none");
  body.setAttribute("stroke", "currentColor");
  body.setAttribute("stroke-width", "1.4");
  svg.append(shackle, body);
  return svg;
}
