/**
 * Classes editor of the project settings page: name, colour, shortcut, ignore / group flags,
 * order (drag a row, or ▲▼), per-class attribute schema (bool / text / enum), add and delete
 * (a used class shows how many instances go with it and asks). Every change is one API call;
 * the server's refusal is shown on the row and the row goes back to the stored value.
 */
import { ApiError, api } from "../api";
import { confirmBox, h, toast } from "./dom";
import { type AttrType, type AttributeSpec, type ManagedClass, errorText } from "./manager_api";

const PALETTE = ["#e03131", "#1c7ed6", "#2f9e44", "#f59f00", "#ae3ec9", "#0ca678", "#f76707", "#4263eb", "#d6336c", "#74b816"];

export class ClassEditor {
  readonly el: HTMLElement;
  classes: ManagedClass[] = [];
  private list: HTMLElement;
  private open = new Set<number>();
  private dragging: number | null = null;
  /** The server's refusal of the last change of a class, shown under its row. */
  private errors = new Map<number, string>();

  constructor(readonly projectId: number) {
    this.list = h("div", { class: "class-editor-list", id: "class-editor" });
    const name = h("input", { type: "text", id: "new-class-name", placeholder: "New class name", maxlength: 100 });
    const add = h("button", { class: "btn btn-primary", id: "add-class", type: "submit" }, "+ Add class");
    const form = h("form", { class: "form-row add-class-row", onsubmit: (e: Event) => (e.preventDefault(), void this.add(name)) }, name, add);
    this.el = h("section", { class: "box" },
      h("div", { class: "box-head" }, h("h2", { class: "box-title" }, "Classes"), h("span", { class: "spacer" }),
        h("span", { class: "hint" }, "Drag ⋮⋮ to reorder · shortcut: a key that picks the class while annotating (1–9 pick by position)")),
      h("div", { class: "class-editor-head" }, h("span", {}, ""), h("span", {}, "Colour"), h("span", {}, "Name"), h("span", {}, "Key"), h("span", {}, "Ignore"), h("span", {}, "Group"), h("span", {}, "Attributes"), h("span", { class: "num" }, "Instances"), h("span", {}, "")),
      this.list, form);
  }

  async load(): Promise<void> {
    this.classes = await api<ManagedClass[]>("GET", `/api/classes/?project=${this.projectId}`);
    this.classes.sort((a, b) => a.order - b.order || a.id - b.id);
    this.render();
  }

  render(): void {
    this.list.replaceChildren(...(this.classes.length ? this.classes.map((c, i) => this.row(c, i)) : [h("p", { class: "empty" }, "No classes yet: add the first one below.")]));
  }

  private row(c: ManagedClass, index: number): HTMLElement {
    const message = this.errors.get(c.id);
    const error = h("div", { class: "row-error", hidden: !message, role: "alert" }, message ?? "");
    const patch = async (change: Partial<ManagedClass>) => {
      try {
        const saved = await api<ManagedClass>("PATCH", `/api/classes/${c.id}/`, change);
        Object.assign(c, saved);
        this.errors.delete(c.id);
      } catch (err) {
        this.errors.set(c.id, errorText(err));
      }
      this.render();
    };
    const attrs = c.attribute_schema ?? [];
    const isOpen = this.open.has(c.id);
    const row = h("div", { class: "class-edit-row", "data-class-id": c.id, "data-class-name": c.name, draggable: "true" },
      h("span", { class: "drag-handle", title: "Drag to reorder" }, "⋮⋮"),
      h("input", { type: "color", class: "swatch-input", value: c.color, title: "Colour", "data-testid": "class-color", onchange: (e: Event) => void patch({ color: (e.target as HTMLInputElement).value }) }),
      h("input", { type: "text", class: "class-name-input", value: c.name, maxlength: 100, "data-testid": "class-name", onchange: (e: Event) => void patch({ name: (e.target as HTMLInputElement).value.trim() }) }),
      h("input", { type: "text", class: "shortcut-input", value: c.shortcut ?? "", maxlength: 1, placeholder: index < 9 ? String(index + 1) : "", title: "Shortcut key", "data-testid": "class-shortcut", onchange: (e: Event) => void patch({ shortcut: (e.target as HTMLInputElement).value.trim() }) }),
      h("input", { type: "checkbox", checked: c.is_ignore, title: "Ignore region: left out of training losses", "data-testid": "class-ignore", onchange: (e: Event) => void patch({ is_ignore: (e.target as HTMLInputElement).checked }) }),
      h("input", { type: "checkbox", checked: c.is_group, title: "Group class covering several objects", "data-testid": "class-group", onchange: (e: Event) => void patch({ is_group: (e.target as HTMLInputElement).checked }) }),
      h("button", { class: `btn btn-small${isOpen ? " active" : ""}`, type: "button", "data-testid": "class-attributes", onclick: () => (isOpen ? this.open.delete(c.id) : this.open.add(c.id), this.render()) },
        attrs.length ? `${attrs.length} attribute${attrs.length === 1 ? "" : "s"}` : "Attributes…"),
      h("span", { class: "num muted", title: "instances in the project" }, String(c.instance_count ?? 0)),
      h("span", { class: "row-actions-always" },
        h("button", { class: "icon-btn", type: "button", title: "Move up", disabled: index === 0, onclick: () => void this.move(index, index - 1) }, "▲"),
        h("button", { class: "icon-btn", type: "button", title: "Move down", disabled: index === this.classes.length - 1, onclick: () => void this.move(index, index + 1) }, "▼"),
        h("button", { class: "icon-btn danger", type: "button", title: "Delete class", "data-testid": "delete-class", onclick: () => void this.remove(c) }, "✕")),
    );
    row.addEventListener("dragstart", (e) => {
      const target = e.target as HTMLElement;
      if (target.tagName === "INPUT") return e.preventDefault();
      this.dragging = index;
      e.dataTransfer?.setData("text/plain", String(c.id));
      row.classList.add("dragging");
    });
    row.addEventListener("dragend", () => row.classList.remove("dragging"));
    row.addEventListener("dragover", (e) => {
      e.preventDefault();
      row.classList.add("drop-target");
    });
    row.addEventListener("dragleave", () => row.classList.remove("drop-target"));
    row.addEventListener("drop", (e) => {
      e.preventDefault();
      row.classList.remove("drop-target");
      const from = this.dragging ?? this.classes.findIndex((k) => String(k.id) === e.dataTransfer?.getData("text/plain"));
      this.dragging = null;
      if (from >= 0 && from !== index) void this.move(from, index);
    });
    const wrap = h("div", { class: "class-edit-item" }, row, error);
    if (isOpen) wrap.appendChild(this.schemaEditor(c));
    return wrap;
  }

  /** Attribute schema rows: name, type, enum options; saved as a whole. */
  private schemaEditor(c: ManagedClass): HTMLElement {
    const rows: { name: HTMLInputElement; type: HTMLSelectElement; options: HTMLInputElement; el: HTMLElement }[] = [];
    const body = h("div", { class: "schema-rows" });
    const error = h("div", { class: "form-error", hidden: true });
    const addRow = (spec: AttributeSpec | null) => {
      const name = h("input", { type: "text", class: "attr-name", placeholder: "name (e.g. occluded)", value: spec?.name ?? "", maxlength: 64 });
      const type = h("select", { class: "attr-type" }, ...(["bool", "str", "enum"] as AttrType[]).map((t) => h("option", { value: t, selected: spec?.type === t }, { bool: "yes / no", str: "text", enum: "one of…" }[t])));
      const options = h("input", { type: "text", class: "attr-options", placeholder: "options, comma separated", value: (spec?.options ?? []).join(", ") });
      const sync = () => (options.hidden = type.value !== "enum");
      type.addEventListener("change", sync);
      sync();
      const el = h("div", { class: "schema-row" }, name, type, options,
        h("button", { class: "icon-btn danger", type: "button", title: "Remove attribute", onclick: () => (el.remove(), rows.splice(rows.findIndex((r) => r.el === el), 1)) }, "✕"));
      rows.push({ name, type, options, el });
      body.appendChild(el);
    };
    for (const spec of c.attribute_schema ?? []) addRow(spec);
    const save = async () => {
      error.hidden = true;
      const schema: AttributeSpec[] = rows.map((r) => {
        const spec: AttributeSpec = { name: r.name.value.trim(), type: r.type.value as AttrType };
        if (spec.type === "enum") spec.options = r.options.value.split(",").map((o) => o.trim()).filter(Boolean);
        return spec;
      });
      try {
        const saved = await api<ManagedClass>("PATCH", `/api/classes/${c.id}/`, { attribute_schema: schema });
        Object.assign(c, saved);
        toast(`Attributes of ${c.name} saved.`);
        this.render();
      } catch (err) {
        error.hidden = false;
        error.textContent = errorText(err);
      }
    };
    return h("div", { class: "schema-editor", "data-testid": "schema-editor" },
      h("div", { class: "hint" }, `Attributes annotators fill in for each ${c.name} instance (in the workspace's data panel; exported with every format).`),
      body, error,
      h("div", { class: "form-row" },
        h("button", { class: "btn btn-small", type: "button", "data-testid": "add-attribute", onclick: () => addRow(null) }, "+ Attribute"),
        h("span", { class: "spacer" }),
        h("button", { class: "btn btn-small btn-primary", type: "button", "data-testid": "save-attributes", onclick: () => void save() }, "Save attributes")));
  }

  private async add(input: HTMLInputElement): Promise<void> {
    const name = input.value.trim();
    if (!name) return;
    const order = this.classes.reduce((m, c) => Math.max(m, c.order), -1) + 1;
    try {
      await api("POST", "/api/classes/", { project: this.projectId, name, color: PALETTE[this.classes.length % PALETTE.length], order });
      input.value = "";
      await this.load();
    } catch (err) {
      toast(`Could not add the class: ${errorText(err)}`, "error");
    }
  }

  private async move(from: number, to: number): Promise<void> {
    const order = this.classes.map((c) => c.id);
    const [moved] = order.splice(from, 1);
    order.splice(to, 0, moved);
    try {
      this.classes = await api<ManagedClass[]>("POST", "/api/classes/reorder/", { project: this.projectId, order });
      this.render();
    } catch (err) {
      toast(`Could not reorder: ${errorText(err)}`, "error");
    }
  }

  private async remove(c: ManagedClass): Promise<void> {
    try {
      await api("DELETE", `/api/classes/${c.id}/`);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 409 && err.body?.code === "class_in_use")) {
        toast(`Could not delete: ${errorText(err)}`, "error");
        return;
      }
      const n = err.body.instance_count;
      const ok = await confirmBox("Delete a class in use?", `${n} instance${n === 1 ? "" : "s"} in this project use “${c.name}”. Deleting the class deletes them too.`, `Delete class and ${n} instance${n === 1 ? "" : "s"}`);
      if (!ok) return;
      try {
        await api("DELETE", `/api/classes/${c.id}/?cascade=true`);
      } catch (e2) {
        toast(`Could not delete: ${errorText(e2)}`, "error");
        return;
      }
    }
    await this.load();
  }
}
