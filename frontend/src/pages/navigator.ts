/** Image navigator: the project's panoramas with thumbnails, status and assignees, filtered.
 * Managers also select panoramas (checkboxes, "select page"), assign them — or the next N
 * unassigned — to annotators and reviewers, reassign, and start processing jobs. */
import { api } from "../api";
import type { Page, Panorama, Project } from "../types";
import { STATUS_LABELS, clear, h, statusBadge, toast, topbar } from "../ui/dom";
import { errorText } from "../ui/manager_api";
import { openDialog } from "../ui/modal";
import { ProcessingPanel, assignableMembers } from "../ui/processing";
import { projectTabs } from "../ui/project_nav";

export async function navigatorPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
  const manager = project.role === "manager" || project.role === "admin";
  const key = `label360:nav:${projectId}`;
  const saved = new URLSearchParams(sessionStorage.getItem(key) || "");
  const status = h("select", { id: "filter-status" }, h("option", { value: "" }, "All statuses"), ...Object.entries(STATUS_LABELS).map(([v, l]) => h("option", { value: v, selected: saved.get("status") === v }, l)));
  const assignee = h("input", { id: "filter-assignee", type: "text", placeholder: "Assignee", value: saved.get("assignee") || "" });
  const search = h("input", { id: "filter-search", type: "search", placeholder: "Search file name", value: saved.get("search") || "" });
  const ordering = h("select", { id: "filter-ordering" }, ...[["id", "Oldest first"], ["-id", "Newest first"], ["original_name", "Name"], ["status", "Status"]].map(([v, l]) => h("option", { value: v, selected: (saved.get("ordering") || "id") === v }, l)));
  const mine = h("button", { class: "btn btn-ghost", onclick: () => ((assignee.value = username), refresh()) }, "Assigned to me");
  const grid = h("div", { class: "grid pano-grid", id: "pano-grid" });
  const count = h("span", { class: "muted" });
  const pager = h("div", { class: "pager" });
  let page = 1;
  let shown: Panorama[] = [];
  const selected = new Set<number>();
  const processing = manager ? new ProcessingPanel(projectId, () => [...selected]) : null;
  const selCount = h("span", { class: "count", id: "selection-count" });
  const nextN = h("input", { type: "number", id: "next-n", min: "1", max: "10000", value: "10", style: { width: "76px" } });
  const bulk = manager
    ? h("div", { class: "bulk-bar", id: "bulk-bar" },
        selCount,
        h("button", { class: "btn btn-small", id: "select-page", onclick: () => (shown.forEach((p) => selected.add(p.id)), renderSelection()) }, "Select page"),
        h("button", { class: "btn btn-small", id: "select-none", onclick: () => (selected.clear(), renderSelection()) }, "Clear"),
        h("button", { class: "btn btn-small btn-primary", id: "assign-selected", onclick: () => void assignDialog("selected") }, "Assign selected…"),
        h("span", { class: "muted small" }, "or the next"), nextN,
        h("button", { class: "btn btn-small", id: "assign-next", onclick: () => void assignDialog("next") }, "unassigned…"),
        h("span", { class: "spacer" }),
        h("button", { class: "btn btn-small", id: "process", onclick: () => void processing?.open() }, "Process…"))
    : null;

  function renderSelection(): void {
    selCount.textContent = selected.size ? `${selected.size} selected` : "Nothing selected (processing runs on the whole project)";
    for (const card of grid.querySelectorAll<HTMLElement>(".pano-card")) {
      const on = selected.has(Number(card.dataset.panoramaId));
      card.classList.toggle("selected", on);
      const box = card.querySelector<HTMLInputElement>(".pano-select");
      if (box) box.checked = on;
    }
    const assign = document.getElementById("assign-selected") as HTMLButtonElement | null;
    if (assign) assign.disabled = !selected.size;
  }

  async function refresh(): Promise<void> {
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (assignee.value.trim()) q.set("assignee", assignee.value.trim());
    if (search.value.trim()) q.set("search", search.value.trim());
    q.set("ordering", ordering.value);
    sessionStorage.setItem(key, q.toString());
    const data = await api<Page<Panorama>>("GET", `/api/panoramas/?project=${projectId}&${q}&page=${page}`);
    shown = data.results;
    count.textContent = `${data.count} panorama${data.count === 1 ? "" : "s"}`;
    clear(grid);
    if (!data.results.length) grid.appendChild(h("p", { class: "empty" }, "No panoramas match these filters."));
    for (const p of data.results) {
      const box = manager
        ? h("input", { type: "checkbox", class: "pano-select", title: "Select", "aria-label": `Select ${p.original_name}`,
            onclick: (e: Event) => {
              e.stopPropagation();
              if ((e.target as HTMLInputElement).checked) selected.add(p.id);
              else selected.delete(p.id);
              renderSelection();
            } })
        : null;
      grid.appendChild(
        h("a", { class: "card pano-card", href: `/panoramas/${p.id}/`, "data-panorama-id": p.id },
          box,
          h("div", { class: "thumb" }, h("img", { src: p.thumbnail_url, alt: p.original_name, loading: "lazy" }), statusBadge(p.status)),
          h("div", { class: "card-title", title: p.original_name }, p.original_name),
          h("div", { class: "card-meta" },
            h("span", {}, `${p.width}×${p.height}`),
            h("span", {}, `${p.instance_count ?? 0} instances`),
            h("span", { class: "assignees" }, p.assignees.length ? `assigned: ${p.assignees.join(", ")}` : "unassigned"))));
    }
    clear(pager);
    if (data.previous || data.next) {
      pager.append(
        h("button", { class: "btn", disabled: !data.previous, onclick: () => ((page -= 1), refresh()) }, "‹ Previous page"),
        h("span", { class: "muted" }, `Page ${page}`),
        h("button", { class: "btn", disabled: !data.next, onclick: () => ((page += 1), refresh()) }, "Next page ›"));
    }
    renderSelection();
  }

  /** Assign / reassign / unassign the selection, or the next N unassigned panoramas. */
  async function assignDialog(target: "selected" | "next"): Promise<void> {
    const n = Math.max(1, Math.floor(Number(nextN.value) || 0));
    if (target === "selected" && !selected.size) return;
    const members = await assignableMembers(projectId);
    const boxes = members.map((m) => h("input", { type: "checkbox", value: m.username, "data-role": m.role }));
    const mode = (value: string, label: string, checked = false) => h("label", { class: "check" }, h("input", { type: "radio", name: "assign-mode", value, checked }), label);
    const distribute = h("input", { type: "checkbox", id: "assign-distribute", checked: target === "next" });
    const dialog = openDialog<{ panoramas: number; assignments: Record<string, number> }>({
      title: target === "selected" ? `Assign ${selected.size} selected panorama${selected.size === 1 ? "" : "s"}` : `Assign the next ${n} unassigned panoramas`,
      id: "assign-dialog",
      okLabel: "Assign",
      body: [
        h("fieldset", { class: "fieldset" }, h("legend", {}, "People"),
          h("div", { class: "pick-list", id: "assign-users" }, ...members.map((m, k) => h("label", { class: "check pick-row" }, boxes[k], m.username, h("span", { class: "muted small" }, ` ${m.role}`))))),
        target === "selected"
          ? h("fieldset", { class: "fieldset" }, h("legend", {}, "How"),
              mode("add", "Add them to the current assignees", true),
              mode("replace", "Reassign: they replace the current assignees"),
              mode("remove", "Unassign them"))
          : null,
        h("label", { class: "check" }, distribute, "Share out: each panorama to one of them in turn (otherwise each gets all of them)"),
      ],
      submit: async () => {
        const users = boxes.filter((b) => b.checked).map((b) => b.value);
        const how = document.querySelector<HTMLInputElement>("input[name=assign-mode]:checked")?.value ?? "add";
        if (!users.length && how !== "replace") throw new Error("Choose at least one person.");
        const body: Record<string, unknown> = { project: projectId, users, mode: how, distribute: distribute.checked };
        if (target === "selected") body.panoramas = [...selected];
        else body.next_unassigned = n;
        try {
          return await api("POST", "/api/panoramas/assign/", body);
        } catch (err) {
          throw new Error(errorText(err));
        }
      },
    });
    const done = await dialog.result;
    if (!done) return;
    const who = Object.entries(done.assignments).map(([u, c]) => `${u} ${c}`).join(", ");
    toast(done.panoramas ? `${done.panoramas} panorama${done.panoramas === 1 ? "" : "s"} assigned${who ? ` (${who})` : ""}.` : "No unassigned panoramas left.");
    await refresh();
  }

  for (const el of [status, ordering]) el.addEventListener("change", () => ((page = 1), refresh()));
  let timer = 0;
  for (const el of [assignee, search]) el.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => ((page = 1), refresh()), 250);
  });
  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), project.name], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), count, h("span", { class: "spacer" }),
        manager ? h("a", { class: "btn", href: `/projects/${projectId}/upload/` }, "⇪ Upload") : null,
        h("span", { class: `role role-${project.role}` }, project.role ?? "")),
      projectTabs(projectId, "panoramas", project.role),
      processing?.el ?? null,
      h("div", { class: "filters" }, status, assignee, mine, search, ordering),
      bulk,
      grid, pager));
  await Promise.all([refresh(), processing?.load().catch((err) => toast(errorText(err), "error"))]);
  document.body.dataset.ready = "1";
}
