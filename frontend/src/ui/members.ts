/** Members of a project: add an existing user with a role (found by name as you type), change a
 * role, remove a member. */
import { api, apiList } from "../api";
import { confirmBox, h, toast } from "./dom";
import { type Membership, type UserHit, errorText } from "./manager_api";

export const ROLES: [string, string][] = [
  ["annotator", "Annotator — labels the panoramas assigned to them"],
  ["reviewer", "Reviewer — approves or rejects, may correct"],
  ["manager", "Manager — runs the project"],
  ["viewer", "Viewer — reads and exports"],
];

export class MembersEditor {
  readonly el: HTMLElement;
  members: Membership[] = [];
  onChange: (() => void) | null = null;
  private table: HTMLElement;

  constructor(readonly projectId: number, readonly me: string) {
    this.table = h("tbody", { id: "members-body" });
    const user = h("input", { type: "text", id: "member-username", placeholder: "Username", list: "user-hits", autocomplete: "off" });
    const hits = h("datalist", { id: "user-hits" });
    const role = h("select", { id: "member-role" }, ...ROLES.map(([v, label]) => h("option", { value: v }, label.split(" — ")[0])));
    let timer = 0;
    user.addEventListener("input", () => {
      window.clearTimeout(timer);
      const term = user.value.trim();
      if (!term) return;
      timer = window.setTimeout(async () => {
        try {
          const found = await api<UserHit[]>("GET", `/api/users/?search=${encodeURIComponent(term)}`);
          const taken = new Set(this.members.map((m) => m.username));
          hits.replaceChildren(...found.filter((u) => !taken.has(u.username)).map((u) => h("option", { value: u.username }, [u.first_name, u.last_name].filter(Boolean).join(" "))));
        } catch {
          /* suggestions are a convenience; the Add answer says what is wrong */
        }
      }, 200);
    });
    const form = h("form", { class: "form-row", id: "add-member", onsubmit: (e: Event) => (e.preventDefault(), void this.add(user, role)) },
      user, hits, role, h("button", { class: "btn btn-primary", type: "submit" }, "Add member"));
    this.el = h("section", { class: "box" },
      h("div", { class: "box-head" }, h("h2", { class: "box-title" }, "Members")),
      h("table", { class: "data-table" }, h("thead", {}, h("tr", {}, h("th", {}, "User"), h("th", {}, "Role"), h("th", {}, ""))), this.table),
      h("p", { class: "hint" }, "Add people who already have an account (your administrator creates accounts)."),
      form);
  }

  async load(): Promise<void> {
    this.members = await apiList<Membership>(`/api/memberships/?project=${this.projectId}&page_size=1000`);
    this.members.sort((a, b) => a.username.localeCompare(b.username));
    this.render();
    this.onChange?.();
  }

  render(): void {
    this.table.replaceChildren(...this.members.map((m) => {
      const role = h("select", { "data-testid": "member-role", onchange: (e: Event) => void this.setRole(m, (e.target as HTMLSelectElement).value) },
        ...ROLES.map(([v, label]) => h("option", { value: v, selected: m.role === v, title: label }, label.split(" — ")[0])));
      return h("tr", { "data-username": m.username },
        h("td", {}, m.username, m.username === this.me ? h("span", { class: "muted" }, " (you)") : null),
        h("td", {}, role),
        h("td", { class: "num" }, h("button", { class: "icon-btn danger", title: "Remove from the project", "data-testid": "remove-member", onclick: () => void this.remove(m) }, "✕")));
    }));
  }

  private async add(user: HTMLInputElement, role: HTMLSelectElement): Promise<void> {
    const username = user.value.trim();
    if (!username) return;
    try {
      await api("POST", "/api/memberships/", { project: this.projectId, username, role: role.value });
      user.value = "";
      toast(`${username} added as ${role.value}.`);
      await this.load();
    } catch (err) {
      toast(`Could not add ${username}: ${errorText(err)}`, "error");
    }
  }

  private async setRole(m: Membership, role: string): Promise<void> {
    if (m.role === "manager" && role !== "manager" && this.managers() === 1) {
      const ok = await confirmBox("Remove the last manager?", `${m.username} is the project's only manager; without one, only an administrator can run the project.`, "Change the role");
      if (!ok) return this.render();
    }
    try {
      await api("PATCH", `/api/memberships/${m.id}/`, { role });
      await this.load();
    } catch (err) {
      toast(errorText(err), "error");
      this.render();
    }
  }

  private async remove(m: Membership): Promise<void> {
    const last = m.role === "manager" && this.managers() === 1;
    const ok = await confirmBox(`Remove ${m.username}?`, `${m.username} loses access to the project${last ? " — and it is the only manager" : ""}. Their annotations stay.`, "Remove");
    if (!ok) return;
    try {
      await api("DELETE", `/api/memberships/${m.id}/`);
      await this.load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  private managers(): number {
    return this.members.filter((m) => m.role === "manager").length;
  }
}
