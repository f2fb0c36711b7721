/** Project list: open a project; create one (classes empty, copied or pasted as JSON), edit,
 * archive / restore, delete (the confirmation lists what goes with the project). */
import { api, apiAll } from "../api";
import { clear, h, toast, topbar } from "../ui/dom";
import { type DeletionSummary, type ManagedProject, errorText } from "../ui/manager_api";
import { field, openDialog } from "../ui/modal";
import { formatBytes } from "../ui/project_nav";

const MANAGES = new Set(["admin", "manager"]);

export async function projectsPage(root: HTMLElement, username: string, canCreate = false): Promise<void> {
  let showArchived = false;
  const grid = h("div", { class: "grid project-grid", id: "project-grid" });
  const count = h("span", { class: "muted" });
  const archivedToggle = h("label", { class: "check small" },
    h("input", { type: "checkbox", id: "show-archived", onchange: (e: Event) => ((showArchived = (e.target as HTMLInputElement).checked), void refresh()) }),
    "Show archived");
  const newButton = canCreate ? h("button", { class: "btn btn-primary", id: "new-project", onclick: () => void createProject() }, "+ New project") : null;

  async function refresh(): Promise<void> {
    const projects = await apiAll<ManagedProject>(`/api/projects/${showArchived ? "?archived=1" : ""}`);
    count.textContent = `${projects.length} ${showArchived ? "archived " : ""}project${projects.length === 1 ? "" : "s"}`;
    clear(grid);
    if (!projects.length) {
      grid.appendChild(h("p", { class: "empty" }, showArchived ? "No archived projects." : canCreate ? "No projects yet. Create the first one with “New project”." : "You are not a member of any project yet."));
    }
    for (const p of projects) grid.appendChild(card(p));
  }

  function card(p: ManagedProject): HTMLElement {
    const manage = MANAGES.has(p.role ?? "");
    const actions = manage
      ? h("div", { class: "card-actions" },
          h("button", { class: "btn btn-small btn-ghost", "data-testid": "edit-project", onclick: (e: Event) => (e.preventDefault(), void editProject(p)) }, "Edit"),
          h("button", { class: "btn btn-small btn-ghost", "data-testid": p.archived ? "restore-project" : "archive-project", onclick: (e: Event) => (e.preventDefault(), void setArchived(p, !p.archived)) }, p.archived ? "Restore" : "Archive"),
          p.role === "admin" && h("button", { class: "btn btn-small btn-ghost danger-text", "data-testid": "delete-project", onclick: (e: Event) => (e.preventDefault(), void deleteProject(p)) }, "Delete"),
          h("a", { class: "btn btn-small btn-ghost", href: `/projects/${p.id}/settings/`, onclick: (e: Event) => e.stopPropagation() }, "Settings"))
      : null;
    return h("a", { class: `card project-card${p.archived ? " archived" : ""}`, href: `/projects/${p.id}/`, "data-project-id": p.id },
      h("div", { class: "card-title" }, p.name, p.archived ? h("span", { class: "badge status-new archived-badge" }, "Archived") : null),
      h("div", { class: "card-desc" }, p.description || "No description"),
      h("div", { class: "card-meta" }, h("span", { class: `role role-${p.role}` }, p.role ?? ""), h("span", {}, `${p.panorama_count ?? 0} panoramas`), h("span", {}, `cube FOV ${p.default_fov}°`)),
      actions);
  }

  async function createProject(): Promise<void> {
    const others = await apiAll<ManagedProject>("/api/projects/?archived=all");
    const name = h("input", { type: "text", id: "project-name", required: true, maxlength: 200 });
    const description = h("textarea", { id: "project-description", rows: 2 });
    const fov = h("input", { type: "number", id: "project-fov", min: "90", max: "150", step: "1", value: "100" });
    const source = (value: string, label: string, checked = false) =>
      h("label", { class: "check" }, h("input", { type: "radio", name: "class-source", value, checked, onchange: () => syncSource() }), label);
    const copyFrom = h("select", { id: "copy-from", disabled: true }, ...others.map((o) => h("option", { value: String(o.id) }, o.name)));
    const pasted = h("textarea", { id: "classes-json", rows: 6, disabled: true, placeholder: '[{"name": "car", "color": "#e03131", "shortcut": "q", "attribute_schema": [{"name": "occluded", "type": "bool"}]}]' });
    const chosen = () => (document.querySelector<HTMLInputElement>("input[name=class-source]:checked")?.value ?? "empty");
    const syncSource = () => {
      copyFrom.disabled = chosen() !== "copy";
      pasted.disabled = chosen() !== "paste";
    };
    const dialog = openDialog<ManagedProject>({
      title: "New project",
      id: "project-dialog",
      wide: true,
      okLabel: "Create project",
      body: [
        field("Name", name),
        field("Description", description),
        field("Expanded FOV of the cubemap canvas (°)", fov, "90° is the bare cube face; the extra margin lets polygons cross face borders (90–150)."),
        h("fieldset", { class: "fieldset" }, h("legend", {}, "Classes"),
          source("empty", "Start with no classes", true),
          h("div", { class: "form-row" }, source("copy", "Copy the classes of"), copyFrom),
          source("paste", "Paste a JSON class list"),
          pasted),
      ],
      submit: async () => {
        const body: Record<string, unknown> = { name: name.value.trim(), description: description.value, default_fov: Number(fov.value) };
        if (!body.name) throw new Error("Give the project a name.");
        if (chosen() === "copy") {
          if (!copyFrom.value) throw new Error("There is no project to copy classes from.");
          body.copy_classes_from = Number(copyFrom.value);
        }
        if (chosen() === "paste") body.classes = parseClasses(pasted.value);
        try {
          return await api<ManagedProject>("POST", "/api/projects/", body);
        } catch (err) {
          throw new Error(errorText(err));
        }
      },
    });
    const made = await dialog.result;
    if (made) window.location.href = `/projects/${made.id}/settings/`;
  }

  async function editProject(p: ManagedProject): Promise<void> {
    const name = h("input", { type: "text", id: "project-name", value: p.name, maxlength: 200 });
    const description = h("textarea", { id: "project-description", rows: 3 }, p.description);
    const fov = h("input", { type: "number", id: "project-fov", min: "90", max: "150", step: "1", value: String(p.default_fov) });
    const dialog = openDialog<ManagedProject>({
      title: `Edit ${p.name}`,
      id: "project-dialog",
      okLabel: "Save",
      body: [field("Name", name), field("Description", description), field("Expanded FOV (°)", fov)],
      submit: async () => {
        try {
          return await api<ManagedProject>("PATCH", `/api/projects/${p.id}/`, { name: name.value.trim(), description: description.value, default_fov: Number(fov.value) });
        } catch (err) {
          throw new Error(errorText(err));
        }
      },
    });
    if (await dialog.result) {
      toast("Project saved.");
      await refresh();
    }
  }

  async function setArchived(p: ManagedProject, archived: boolean): Promise<void> {
    try {
      await api("POST", `/api/projects/${p.id}/${archived ? "archive" : "unarchive"}/`);
      toast(archived ? `${p.name} archived. “Show archived” lists it.` : `${p.name} restored.`);
      await refresh();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  async function deleteProject(p: ManagedProject): Promise<void> {
    let summary: DeletionSummary;
    try {
      summary = await api<DeletionSummary>("GET", `/api/projects/${p.id}/deletion-summary/`);
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    const typed = h("input", { type: "text", id: "confirm-name", placeholder: p.name, autocomplete: "off" });
    const list = h("ul", { class: "deletion-list", id: "deletion-list" },
      ...summary.items.map((item) => h("li", {}, h("b", {}, String(item.count)), ` ${item.label}`)),
      summary.image_bytes ? h("li", {}, h("b", {}, formatBytes(summary.image_bytes)), " of panorama files") : null);
    const dialog = openDialog<boolean>({
      title: `Delete ${p.name}?`,
      id: "delete-dialog",
      danger: true,
      okLabel: "Delete project and everything in it",
      body: [
        h("p", {}, "This cannot be undone. Deleting the project also deletes:"),
        summary.items.length ? list : h("p", { class: "muted" }, "Nothing else: the project is empty."),
        field(`Type the project's name to confirm`, typed),
      ],
      submit: async () => {
        if (typed.value !== p.name) throw new Error("The name does not match.");
        try {
          await api("DELETE", `/api/projects/${p.id}/`);
        } catch (err) {
          throw new Error(errorText(err));
        }
        return true;
      },
    });
    if (await dialog.result) {
      toast(`${p.name} deleted.`);
      await refresh();
    }
  }

  root.replaceChildren(
    topbar(["Projects"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, "Projects"), count, h("span", { class: "spacer" }), archivedToggle, newButton),
      grid));
  await refresh();
}

/** A pasted class list: a JSON array of classes, or an object with a ``classes`` array. */
export function parseClasses(text: string): unknown[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`The class list is not valid JSON: ${(err as Error).message}`);
  }
  if (value && typeof value === "object" && !Array.isArray(value) && Array.isArray((value as { classes?: unknown }).classes)) value = (value as { classes: unknown[] }).classes;
  if (!Array.isArray(value)) throw new Error("Paste a JSON list of classes, e.g. [{\"name\": \"car\"}].");
  return value.map((c) => (typeof c === "string" ? { name: c } : c));
}
