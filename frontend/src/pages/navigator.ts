/** Image navigator: the project's panoramas with thumbnails, status and assignees, filtered. */
import { api } from "../api";
import type { Page, Panorama, Project } from "../types";
import { STATUS_LABELS, clear, h, statusBadge, topbar } from "../ui/dom";
import { projectTabs } from "../ui/project_nav";

export async function navigatorPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
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

  async function refresh(): Promise<void> {
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (assignee.value.trim()) q.set("assignee", assignee.value.trim());
    if (search.value.trim()) q.set("search", search.value.trim());
    q.set("ordering", ordering.value);
    sessionStorage.setItem(key, q.toString());
    const data = await api<Page<Panorama>>("GET", `/api/panoramas/?project=${projectId}&${q}&page=${page}`);
    count.textContent = `${data.count} panorama${data.count === 1 ? "" : "s"}`;
    clear(grid);
    if (!data.results.length) grid.appendChild(h("p", { class: "empty" }, "No panoramas match these filters."));
    for (const p of data.results) {
      grid.appendChild(
        h("a", { class: "card pano-card", href: `/panoramas/${p.id}/`, "data-panorama-id": p.id },
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
      h("div", { class: "page-head" }, h("h1", {}, project.name), count, h("span", { class: "spacer" }), h("span", { class: `role role-${project.role}` }, project.role ?? "")),
      projectTabs(projectId, "panoramas"),
      h("div", { class: "filters" }, status, assignee, mine, search, ordering),
      grid, pager));
  await refresh();
}
