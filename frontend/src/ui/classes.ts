/** Class panel: pick the class for new polygons; managers add, rename, recolour, reorder, delete. */
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

  render(): void {
    clear(this.el);
    const header = h("header", { class: "panel-head" }, h("h2", {}, "Classes"));
    if (this.canManage) {
      header.appendChild(h("button", { class: "btn btn-small", "data-testid": "add-class", title: "Add a class", onclick: () => this.add() }, "+ Add"));
    }
    this.el.appendChild(header);
    const list = h("ul", { class: "class-list" });
    this.classes.forEach((c, i) => {
      const active = c.id === this.current;
      const row = h("li", { class: `class-row${active ? " active" : ""}`, "data-class-id": c.id, "data-class-name": c.name, onclick: () => this.select(c.id) },
        h("span", { class: "kbd-hint" }, i < 9 ? String(i + 1) : ""),
        this.canManage
          ? h("input", { type: "color", class: "swatch-input", value: c.color, title: "Colour", onclick: (e: Event) => e.stopPropagation(), onchange: (e: Event) => this.patch(c, { color: (e.target as HTMLInputElement).value }) })
          : h("span", { class: "swatch", style: { background: c.color } }),
        h("span", { class: "class-name", ondblclick: () => this.canManage && this.rename(c) }, c.name),
        h("span", { class: "count", title: "instances on this panorama" }, String(this.counts.get(c.id) ?? 0)),
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
