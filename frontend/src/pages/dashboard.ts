/** Progress dashboard (managers, reviewers): panoramas by status, per-annotator work, active time
 * and rejection rate, instances per class, active time per day and per panorama, and the latest
 * agreement round — all from the API (GET /api/projects/ID/dashboard/, agreement endpoints). */
import { api, apiList } from "../api";
import type { AgreementReport, AgreementRound, Project } from "../types";
import { columns, donut, hbars, histogram } from "../ui/charts";
import { STATUS_LABELS, h, topbar } from "../ui/dom";
import { type Dashboard, errorText, formatDuration } from "../ui/manager_api";
import { iouBar, pct, projectTabs } from "../ui/project_nav";

export const STATUS_COLORS: Record<string, string> = {
  new: "#8a93a6",
  in_progress: "#4c8dff",
  submitted: "#f5a524",
  approved: "#2fbf71",
  rejected: "#e5484d",
};

function stat(value: string, label: string, sub = "", id = ""): HTMLElement {
  return h("div", { class: "stat", id: id || undefined }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label), sub ? h("div", { class: "stat-sub muted" }, sub) : null);
}

export async function dashboardPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
  const body = h("div", { id: "dashboard" }, h("p", { class: "loading muted" }, "Loading…"));
  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), h("a", { href: `/projects/${projectId}/` }, project.name), "Dashboard"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), h("span", { class: "spacer" }),
        h("button", { class: "btn", id: "dashboard-refresh", onclick: () => void load() }, "Refresh")),
      projectTabs(projectId, "dashboard", project.role),
      body));

  async function load(): Promise<void> {
    let d: Dashboard;
    try {
      d = await api<Dashboard>("GET", `/api/projects/${projectId}/dashboard/`);
    } catch (err) {
      body.replaceChildren(h("p", { class: "form-error" }, errorText(err)));
      return;
    }
    const done = d.panoramas ? d.done / d.panoramas : 0;
    const minutes = (s: number) => `${(s / 60).toFixed(s < 600 ? 1 : 0)} min`;
    const statuses = d.statuses.map((s) => ({ label: s.label, value: s.count, color: STATUS_COLORS[s.status] ?? "#888" }));
    const statusLegend = h("ul", { class: "chart-legend", id: "status-legend" },
      ...d.statuses.map((s) => h("li", { "data-status": s.status },
        h("i", { class: "legend-dot", style: { background: STATUS_COLORS[s.status] } }),
        h("span", {}, STATUS_LABELS[s.status] ?? s.label),
        h("b", { class: "legend-count" }, String(s.count)),
        h("span", { class: "muted" }, d.panoramas ? `${((100 * s.count) / d.panoramas).toFixed(0)}%` : "—"))));
    const people = d.annotators;
    const table = h("table", { class: "data-table", id: "annotator-table" },
      h("thead", {}, h("tr", {}, ...["Annotator", "Role", "Assigned", "Done", "Instances", "Active time", "per done panorama", "Rejection rate"].map((t, k) => h("th", { class: k >= 2 ? "num" : "" }, t)))),
      h("tbody", {}, ...people.map((p) => h("tr", { "data-username": p.username },
        h("td", {}, p.username), h("td", { class: "muted" }, p.role ?? "—"),
        h("td", { class: "num" }, String(p.assigned)),
        h("td", { class: "num" }, `${p.done}`, p.assigned ? h("span", { class: "muted" }, ` (${((100 * p.done) / p.assigned).toFixed(0)}%)`) : null),
        h("td", { class: "num" }, String(p.instances)),
        h("td", { class: "num", "data-testid": "active-time" }, formatDuration(p.active_seconds)),
        h("td", { class: "num" }, p.done && p.active_seconds ? minutes(p.active_seconds / p.done) : "—"),
        h("td", { class: "num" }, p.rejection_rate === null ? "—" : `${(100 * p.rejection_rate).toFixed(0)}% (${p.rejections}/${p.submissions})`)))));
    const perDay = d.active.per_day.map((x) => ({ label: x.day.slice(5), value: x.seconds / 60 }));
    body.replaceChildren(
      h("div", { class: "stats" },
        stat(String(d.panoramas), "panoramas", `${d.done} done (${(100 * done).toFixed(0)}%)`, "stat-panoramas"),
        stat(String(d.instances), "instances", d.suggestions ? `${d.suggestions} model suggestions open` : "", "stat-instances"),
        stat(formatDuration(d.active.total_seconds), "active annotation time", "focused tab, input in the last 60 s", "stat-active"),
        stat(d.active.mean_seconds_per_done_panorama === null ? "—" : minutes(d.active.mean_seconds_per_done_panorama), "active time per done panorama", `${d.active.done_panoramas_timed} done panoramas timed`, "stat-per-panorama")),
      h("div", { class: "dash-grid" },
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Panoramas by status"),
          h("div", { class: "donut-row" }, donut(statuses, 180, "panoramas"), statusLegend)),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Instances per class"),
          d.classes.length ? hbars(d.classes.map((c) => ({ label: c.name, value: c.instances, color: c.color }))) : h("p", { class: "empty" }, "No classes yet.")),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Panoramas done per annotator"),
          people.length ? hbars(people.map((p) => ({ label: p.username, value: p.done, note: `/ ${p.assigned}` })), { max: Math.max(1, ...people.map((p) => p.assigned)) }) : h("p", { class: "empty" }, "No annotators yet.")),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Active annotation time per day (minutes, last 30 days)"), columns(perDay, { format: (v) => v.toFixed(v < 10 ? 1 : 0) })),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Active minutes per done panorama"),
          d.active.done_panorama_seconds.length ? histogram(d.active.done_panorama_seconds.map((s) => s / 60), 8, { format: (v) => v.toFixed(v < 10 ? 1 : 0) }) : h("p", { class: "empty" }, "No done panorama has recorded time yet.")),
        agreementBox(projectId)),
      h("section", { class: "box dash-wide" }, h("h2", { class: "box-title" }, "Annotators"), people.length ? table : h("p", { class: "empty" }, "No annotators yet.")));
    document.body.dataset.ready = "1";
  }

  function agreementBox(pid: number): HTMLElement {
    const box = h("section", { class: "box", id: "dashboard-agreement" }, h("h2", { class: "box-title" }, "Agreement"), h("p", { class: "muted" }, "Loading…"));
    void (async () => {
      try {
        const rounds = await apiList<AgreementRound>(`/api/agreement-rounds/?project=${pid}`);
        rounds.sort((a, b) => b.created_at.localeCompare(a.created_at));
        const latest = rounds[0];
        if (!latest) {
          box.replaceChildren(h("h2", { class: "box-title" }, "Agreement"), h("p", { class: "empty" }, "No agreement round yet."), h("a", { href: `/projects/${pid}/agreement/` }, "Start one on the Agreement page"));
          return;
        }
        const report = await api<AgreementReport>("GET", `/api/agreement-rounds/${latest.id}/report/?reference=none`);
        const classes = Object.entries(report.classes);
        box.replaceChildren(
          h("h2", { class: "box-title" }, `Agreement · ${latest.name}`),
          h("div", { class: "agreement-overall" }, h("span", {}, "IoU between annotators"), iouBar(report.overall.iou)),
          h("table", { class: "data-table" }, h("tbody", {}, ...classes.map(([name, t]) => h("tr", {}, h("td", {}, name), h("td", {}, iouBar(t.iou)), h("td", { class: "num muted" }, `${t.matched} matched`))))),
          h("p", { class: "hint" }, `${rounds.length} round${rounds.length === 1 ? "" : "s"} · mean matched IoU ${pct(report.overall.mean_matched_iou)} · `, h("a", { href: `/projects/${pid}/agreement/?round=${latest.id}` }, "full report")));
      } catch (err) {
        box.replaceChildren(h("h2", { class: "box-title" }, "Agreement"), h("p", { class: "muted" }, errorText(err)));
      }
    })();
    return box;
  }

  await load();
}
