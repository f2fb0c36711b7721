/** Class panel: pick the class for new polygons (click, shortcut, or type to filter), hide a
 * class's instances, search; managers add, rename, recolour, reorder, delete (the full editor with
 * shortcuts and attribute schemas is the project's Settings page). */
import { ApiError, api } from "../api";
import type { LabelClass } from "../types";
import { clear, confirmBox, h, toast } from "./dom";

export class ClassPanel {
  readonly el: HTMLElement;
  classes: LabelClass[] = [];
  current: number | null = null;
  onChange: (() => void) | null = null;
  /** Called after a class (and maybe its instances) was deleted on the server. */
  onDeleted: ((cls: LabelClass, cascaded: boolean) => void) | null = null;
  counts = new Map<number, number>();
  /** Classes whose instances are hidden in the view (the eye in each row). */
  hiddenClasses = new Set<number>();
  onHideClass: ((cls: LabelClass, hide: boolean) => void) | null = null;
  query = "";

  constructor(
    readonly project: number,
    readonly canManage: boolean,
  ) {
    this.el = h("section", { class: "panel", id: "class-panel" });
  }

  /** Load the classes (or adopt a request already under way). */
  async load(prefetched?: Promise<LabelClass[]>): Promise<void> {
    this.classes = await (prefetched ?? api<LabelClass[]>("GET", `/api/classes/?project=${this.project}`));
    this.classes.sort((a, b) => a.order - b.order || a.id - b.id);
    if (this.current === null || !this.classes.some((c) => c.id === this.current)) this.current = this.classes[0]?.id ?? null;
    this.render();
    this.onChange?.();
  }

  colors(): Map<number, string> {
    return new Map(this.classes.map((c) => [c.id, c.color]));
  }

  byId(id: number): LabelClass | undefined {
    return this.classes.find((c) => c.id === id);
  }

  select(id: number): void {
    this.current = id;
    this.render();
  }

  selectIndex(i: number): void {
    const c = this.classes[i];
    if (c) this.select(c.id);
  }

  /** The key that picks a class: its own shortcut, else its position 1–9 when that digit is free. */
  keyOf(c: LabelClass): string {
    if (c.shortcut) return c.shortcut;
    const i = this.classes.indexOf(c);
    const digit = i >= 0 && i < 9 ? String(i + 1) : "";
    return digit && !this.classes.some((o) => o.shortcut === digit) ? digit : "";
  }

  /** The class a key picks, if any. */
  byKey(key: string): LabelClass | undefined {
    const k = key.toLowerCase();
    return this.classes.find((c) => this.keyOf(c) === k);
  }

  render(): void {
    clear(this.el);
    const header = h("header", { class: "panel-head" }, h("h2", {}, "Classes"));
    if (this.canManage) {
      header.appendChild(h("button", { class: "btn btn-small", "data-testid": "add-class", title: "Add a class", onclick: () => this.add() }, "+ Add"));
    }
    this.el.appendChild(header);
    if (this.classes.length > 6) {
      const search = h("input", { type: "search", class: "panel-search", id: "class-search", placeholder: "Filter classes", value: this.query });
      search.addEventListener("input", () => {
        this.query = search.value.trim().toLowerCase();
        this.render();
        (this.el.querySelector("#class-search") as HTMLInputElement | null)?.focus();
      });
      this.el.appendChild(search);
    }
    const list = h("ul", { class: "class-list" });
    this.classes.forEach((c, i) => {
      if (this.query && !c.name.toLowerCase().includes(this.query)) return;
      const active = c.id === this.current;
      const hiddenClass = this.hiddenClasses.has(c.id);
      const row = h("li", { class: `class-row${active ? " active" : ""}${hiddenClass ? " hidden" : ""}`, "data-class-id": c.id, "data-class-name": c.name, onclick: () => this.select(c.id) },
        h("span", { class: "kbd-hint", title: "Shortcut" }, this.keyOf(c)),
        this.canManage
          ? h("input", { type: "color", class: "swatch-input", value: c.color, title: "Colour", onclick: (e: Event) => e.stopPropagation(), onchange: (e: Event) => this.patch(c, { color: (e.target as HTMLInputElement).value }) })
          : h("span", { class: "swatch", style: { background: c.color } }),
        h("span", { class: "class-name", ondblclick: () => this.canManage && this.rename(c) }, c.name),
        h("span", { class: "count", title: "instances on this panorama" }, String(this.counts.get(c.id) ?? 0)),
        h("button", { class: "icon-btn", title: hiddenClass ? `Show every ${c.name}` : `Hide every ${c.name}`, "data-testid": "hide-class",
          onclick: (e: Event) => {
            e.stopPropagation();
            if (hiddenClass) this.hiddenClasses.delete(c.id);
            else this.hiddenClasses.add(c.id);
            this.onHideClass?.(c, !hiddenClass);
            this.render();
          } }, hiddenClass ? "◌" : "◉"),
      );
      if (this.canManage) {
        row.appendChild(h("span", { class: "row-actions" },
          h("button", { class: "icon-btn", title: "Move up", disabled: i === 0, onclick: (e: Event) => (e.stopPropagation(), this.move(i, -1)) }, "▲"),
          h("button", { class: "icon-btn", title: "Move down", disabled: i === this.classes.length - 1, onclick: (e: Event) => (e.stopPropagation(), this.move(i, 1)) }, "▼"),
          h("button", { class: "icon-btn", title: "Rename", onclick: (e: Event) => (e.stopPropagation(), this.rename(c)) }, "✎"),
          h("button", { class: "icon-btn danger", title: "Delete class", "data-testid": "delete-class", onclick: (e: Event) => (e.stopPropagation(), this.remove(c)) }, "✕"),
        ));
      }
      list.appendChild(row);
    });
    this.el.appendChild(list);
  }

  /** Type-to-filter class picker (T): type part of a name, ↑/↓, Enter picks, Esc closes. */
  openPicker(host: HTMLElement, onPick: (c: LabelClass) => void): void {
    if (document.getElementById("class-picker")) return;
    const input = h("input", { type: "text", id: "class-picker-input", placeholder: "Type a class name…", autocomplete: "off" });
    const list = h("ul", {});
    let active = 0;
    let shown: LabelClass[] = [];
    const close = () => picker.remove();
    const draw = () => {
      const q = input.value.trim().toLowerCase();
      shown = this.classes.filter((c) => c.name.toLowerCase().includes(q));
      shown.sort((a, b) => Number(!a.name.toLowerCase().startsWith(q)) - Number(!b.name.toLowerCase().startsWith(q)));
      active = Math.min(active, Math.max(0, shown.length - 1));
      list.replaceChildren(...shown.map((c, k) => h("li", { class: k === active ? "active" : "", "data-class-name": c.name, onmousedown: (e: Event) => (e.preventDefault(), close(), onPick(c)) },
        h("span", { class: "swatch", style: { background: c.color } }), c.name, h("span", { class: "kbd-hint" }, this.keyOf(c)))));
    };
    input.addEventListener("input", () => ((active = 0), draw()));
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Escape") close();
      else if (e.key === "ArrowDown") (active = Math.min(shown.length - 1, active + 1)), draw();
      else if (e.key === "ArrowUp") (active = Math.max(0, active - 1)), draw();
      else if (e.key === "Enter" && shown[active]) {
        e.preventDefault();
        close();
        onPick(shown[active]);
      } else return;
      e.preventDefault();
    });
    input.addEventListener("blur", () => window.setTimeout(close, 100));
    const picker = h("div", { class: "class-picker", id: "class-picker" }, input, list);
    host.appendChild(picker);
    draw();
    input.focus();
  }

  private async patch(c: LabelClass, change: Partial<LabelClass>): Promise<void> {
    try {
      await api("PATCH", `/api/classes/${c.id}/`, change);
      await this.load();
    } catch (err) {
      toast(`Could not update the class: ${(err as Error).message}`, "error");
    }
  }

  private async add(): Promise<void> {
    const name = window.prompt("Name of the new class");
    if (!name) return;
    const palette = ["#f59f00", "#12b886", "#7950f2", "#e64980", "#15aabf", "#82c91e", "#fd7e14", "#4c6ef5"];
    const color = palette[this.classes.length % palette.length];
    const order = this.classes.reduce((m, c) => Math.max(m, c.order), -1) + 1;
    try {
      const made = await api<LabelClass>("POST", "/api/classes/", { project: this.project, name, color, order });
      this.current = made.id;
      await this.load();
    } catch (err) {
      toast(`Could not add the class: ${(err as Error).message}`, "error");
    }
  }

  private async rename(c: LabelClass): Promise<void> {
    const name = window.prompt("Rename class", c.name);
    if (name && name !== c.name) await this.patch(c, { name });
  }

  private async move(i: number, d: number): Promise<void> {
    const a = this.classes[i];
    const b = this.classes[i + d];
    if (!a || !b) return;
    // renumber everything so equal orders cannot tie
    const orders = this.classes.map((_, k) => k);
    [orders[i], orders[i + d]] = [orders[i + d], orders[i]];
    try {
      await Promise.all(this.classes.map((c, k) => (c.order !== orders[k] ? api("PATCH", `/api/classes/${c.id}/`, { order: orders[k] }) : null)));
      await this.load();
    } catch (err) {
      toast(`Could not reorder: ${(err as Error).message}`, "error");
    }
  }

  private async remove(c: LabelClass): Promise<void> {
    try {
      await api("DELETE", `/api/classes/${c.id}/`);
      this.onDeleted?.(c, false);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && err.body?.code === "class_in_use") {
        const n = err.body.instance_count;
        const ok = await confirmBox("Delete a class in use?", `${n} instance${n === 1 ? "" : "s"} in this project use “${c.name}”. Deleting the class deletes them too.`, `Delete class and ${n} instances`);
        if (!ok) return;
        try {
          await api("DELETE", `/api/classes/${c.id}/?cascade=true`);
          this.onDeleted?.(c, true);
        } catch (e2) {
          toast(`Could not delete: ${(e2 as Error).message}`, "error");
          return;
        }
      } else {
        toast(`Could not delete: ${(err as Error).message}`, "error");
        return;
      }
    }
    await this.load();
  }
}
