/** Project settings (managers): the classes editor and the members. */
import { api } from "../api";
import type { Project } from "../types";
import { ClassEditor } from "../ui/class_editor";
import { h, topbar } from "../ui/dom";
import { MembersEditor } from "../ui/members";
import { projectTabs } from "../ui/project_nav";

export async function settingsPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
  const classes = new ClassEditor(projectId);
  const members = new MembersEditor(projectId, username);
  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), h("a", { href: `/projects/${projectId}/` }, project.name), "Settings"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), h("span", { class: "muted" }, project.description), h("span", { class: "spacer" }), h("span", { class: `role role-${project.role}` }, project.role ?? "")),
      projectTabs(projectId, "settings", project.role),
      h("div", { class: "settings-grid" }, classes.el, members.el)));
  await Promise.all([classes.load(), members.load()]);
  document.body.dataset.ready = "1";
}
