/** Project list. */
import { apiAll } from "../api";
import type { Project } from "../types";
import { h, topbar } from "../ui/dom";

export async function projectsPage(root: HTMLElement, username: string): Promise<void> {
  const projects = await apiAll<Project>("/api/projects/");
  const cards = projects.map((p) =>
    h("a", { class: "card project-card", href: `/projects/${p.id}/`, "data-project-id": p.id },
      h("div", { class: "card-title" }, p.name),
      h("div", { class: "card-desc" }, p.description || "No description"),
      h("div", { class: "card-meta" }, h("span", { class: `role role-${p.role}` }, p.role ?? ""), h("span", {}, `${p.panorama_count ?? 0} panoramas`), h("span", {}, `cube FOV ${p.default_fov}°`))));
  root.replaceChildren(
    topbar(["Projects"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, "Projects"), h("span", { class: "muted" }, `${projects.length} project${projects.length === 1 ? "" : "s"}`)),
      projects.length ? h("div", { class: "grid project-grid" }, ...cards) : h("p", { class: "empty" }, "You are not a member of any project yet.")));
}
