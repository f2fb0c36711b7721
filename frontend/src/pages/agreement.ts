/** Agreement page: a project's annotator-agreement rounds and their reports (per-class IoU on
 * the sphere, matched instances, disagreements; CSV/JSON downloads). Managers create rounds. */
import { ApiError, api, apiList } from "../api";
import type { AgreementPair, AgreementReport, AgreementRound, AgreementTotals, Member, Panorama, Project, Replica } from "../types";
import { clear, h, statusBadge, topbar } from "../ui/dom";
import { formatDate, iouBar, pct, projectTabs } from "../ui/project_nav";

const KIND_LABELS: Record<string, string> = {
  low_iou: "IoU below threshold",
  only_in_a: "only in A",
  only_in_b: "only in B",
};
const DISAGREEMENT_ROWS = 200;

function errorText(err: unknown): string {
  if (err instanceof ApiError && err.body && typeof err.body === "object") {
    if (err.body.detail) return String(err.body.detail);
    return Object.entries(err.body).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`).join("; ");
  }
  return String((err as Error)?.message || err);
}

function sr(v: number): string {
  return v ? v.toFixed(4) : "0";
}

function readMembers(): Member[] | null {
  const el = document.getElementById("project-members");
  if (!el || !el.textContent) return null;
  try {
    return JSON.parse(el.textContent) as Member[];
  } catch {
    return null;
  }
}

function stat(label: string, value: string, id: string, sub = ""): HTMLElement {
  return h("div", { class: "stat", id }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label), sub ? h("div", { class: "stat-sub muted" }, sub) : null);
}

function totalsRow(first: (HTMLElement | string)[], t: AgreementTotals): HTMLElement {
  return h("tr", {},
    ...first.map((c) => h("td", {}, c)),
    h("td", {}, iouBar(t.iou)),
    h("td", { class: "num" }, sr(t.intersection_sr)),
    h("td", { class: "num" }, sr(t.union_sr)),
    h("td", { class: "num" }, String(t.matched)),
    h("td", { class: "num" }, String(t.unmatched_a)),
    h("td", { class: "num" }, String(t.unmatched_b)),
    h("td", { class: "num" }, pct(t.mean_matched_iou)));
}

function totalRow(tr: HTMLElement): HTMLElement {
  tr.classList.add("total-row");
  return tr;
}

const TOTAL_HEADS = ["IoU (sphere)", "∩ (sr)", "∪ (sr)", "Matched", "Unmatched A", "Unmatched B", "Mean matched IoU"];

export async function agreementPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
  const members = readMembers();
  const canManage = project.role === "manager" || project.role === "admin";
  const canSeeAllReplicas = canManage || project.role === "reviewer";
  const memberName = new Map((members ?? []).map((m) => [m.id, m.username]));

  let rounds: AgreementRound[] = [];
  let current: AgreementRound | null = null;
  let reference: "main" | "none" = "main";
  let reportToken = 0;

  const list = h("ul", { class: "round-list", id: "round-list" });
  const detail = h("section", { class: "box report", id: "agreement-report" });
  const newButton = canManage ? h("button", { class: "btn btn-primary btn-small", id: "new-round", onclick: () => void openCreate() }, "+ New round") : null;

  async function loadRounds(): Promise<void> {
    rounds = await apiList<AgreementRound>(`/api/agreement-rounds/?project=${projectId}&page_size=1000`);
    rounds.sort((a, b) => b.id - a.id);
    renderList();
  }

  function renderList(): void {
    clear(list);
    if (!rounds.length) {
      list.appendChild(h("li", { class: "empty" }, canManage ? "No rounds yet. Create one to compare annotators." : "No agreement rounds in this project yet."));
    }
    for (const r of rounds) {
      const names = r.annotators.map((id) => memberName.get(id)).filter(Boolean) as string[];
      list.appendChild(
        h("li", {},
          h("button", { class: `round-item${current?.id === r.id ? " active" : ""}`, "data-round-id": r.id, onclick: () => void select(r) },
            h("span", { class: "round-name" }, r.name),
            h("span", { class: "round-meta muted" },
              `${r.panoramas.length} panorama${r.panoramas.length === 1 ? "" : "s"} · `,
              names.length ? names.join(", ") : `${r.annotators.length} annotator${r.annotators.length === 1 ? "" : "s"}`),
            h("span", { class: "round-meta muted" }, `IoU ≥ ${r.iou_threshold} · ${formatDate(r.created_at)}`))));
    }
  }

  async function select(r: AgreementRound): Promise<void> {
    current = r;
    const url = new URL(window.location.href);
    url.searchParams.set("round", String(r.id));
    window.history.replaceState(null, "", url.toString());
    renderList();
    await renderReport();
  }

  async function renderReport(): Promise<void> {
    const r = current;
    if (!r) {
      detail.replaceChildren(h("p", { class: "empty" }, "Choose a round to see its report."));
      return;
    }
    const token = ++reportToken;
    const base = `/api/agreement-rounds/${r.id}/report/?reference=${reference}`;
    const refSeg = h("div", { class: "seg", id: "reference-switch" },
      ...([["main", "vs. project labels"], ["none", "annotators only"]] as const).map(([value, label]) =>
        h("button", { class: `seg-btn${reference === value ? " active" : ""}`, "data-reference": value, onclick: () => {
          if (reference === value) return;
          reference = value;
          void renderReport();
        } }, label)));
    const head = h("div", { class: "report-head" },
      h("div", {}, h("h2", { class: "report-title" }, r.name),
        h("div", { class: "muted small" }, `Round #${r.id} · ${r.panoramas.length} panorama${r.panoramas.length === 1 ? "" : "s"} · IoU threshold ${r.iou_threshold} · created ${formatDate(r.created_at)}`)),
      h("span", { class: "spacer" }),
      refSeg,
      h("a", { class: "btn btn-small", href: `${base}&as=csv`, download: `agreement-${r.id}.csv`, id: "report-csv" }, "⤓ CSV"),
      h("a", { class: "btn btn-small", href: `${base}&format=json`, download: `agreement-${r.id}.json`, id: "report-json" }, "⤓ JSON"));
    detail.replaceChildren(head, h("p", { class: "muted loading" }, "Computing the report…"));
    let report: AgreementReport;
    let replicas: Replica[] = [];
    try {
      [report, replicas] = await Promise.all([
        api<AgreementReport>("GET", base),
        api<Replica[]>("GET", `/api/agreement-rounds/${r.id}/replicas/`).catch(() => [] as Replica[]),
      ]);
    } catch (err) {
      if (token !== reportToken) return;
      detail.replaceChildren(head, h("p", { class: "form-error" }, `The report could not be computed: ${errorText(err)}`));
      return;
    }
    if (token !== reportToken) return;
    detail.replaceChildren(head, ...reportBody(r, report, replicas));
    detail.dataset.roundId = String(r.id);
    detail.dataset.reference = reference;
    document.body.dataset.reportReady = String(r.id);
  }

  function progressChips(r: AgreementRound, replicas: Replica[]): HTMLElement | null {
    const ids = canSeeAllReplicas ? r.annotators : r.annotators.filter((id) => memberName.get(id) === username || replicas.some((x) => x.annotator === id));
    if (!ids.length) return null;
    return h("div", { class: "chips replica-progress", id: "replica-progress" },
      h("span", { class: "muted small" }, "Submitted:"),
      ...ids.map((id) => {
        const own = replicas.filter((x) => x.annotator === id);
        const done = own.filter((x) => x.submitted).length;
        const complete = done === r.panoramas.length && r.panoramas.length > 0;
        return h("span", { class: `chip static${complete ? " chip-ok" : ""}` }, `${memberName.get(id) ?? `user ${id}`} ${done}/${r.panoramas.length}`);
      }));
  }

  function reportBody(r: AgreementRound, report: AgreementReport, replicas: Replica[]): HTMLElement[] {
    const out: HTMLElement[] = [];
    const chips = progressChips(r, replicas);
    if (chips) out.push(chips);
    const annotatorPairs = report.pairs.filter((p) => p.a !== report.reference);
    const refPairs = report.pairs.filter((p) => p.a === report.reference);
    const disagreements = report.pairs.reduce((n, p) => n + p.disagreements.length, 0);
    const o = report.overall;
    out.push(h("div", { class: "stats" },
      stat("Overall IoU between annotators", pct(o.iou), "stat-overall", annotatorPairs.length ? `${annotatorPairs.length} pair${annotatorPairs.length === 1 ? "" : "s"}, areas on the sphere` : "needs two annotators with replicas"),
      stat("Matched instances", String(o.matched), "stat-matched", `mean IoU ${pct(o.mean_matched_iou)}`),
      stat("Unmatched instances", String(o.unmatched_a + o.unmatched_b), "stat-unmatched"),
      stat("Disagreements", String(disagreements), "stat-disagreements", report.reference ? "incl. vs. project labels" : "")));
    if (!report.annotators.length) {
      out.push(h("p", { class: "empty" }, "No replicas yet: annotators have not labelled this round's panoramas."));
      return out;
    }

    // per class (across annotator pairs)
    const classNames = Object.keys(report.classes);
    out.push(h("h3", { class: "section-title" }, "Per class (across annotator pairs)"));
    if (classNames.length) {
      out.push(h("table", { class: "data-table", id: "agreement-classes" },
        h("thead", {}, h("tr", {}, h("th", {}, "Class"), ...TOTAL_HEADS.map((t, i) => h("th", { class: i ? "num" : "" }, t)))),
        h("tbody", {},
          ...classNames.map((c) => totalsRow([c], report.classes[c])),
          totalRow(totalsRow(["All classes"], report.overall)))));
    } else out.push(h("p", { class: "empty" }, "No annotator pair has labels to compare."));

    // pairs
    const pairClasses = Array.from(new Set(report.pairs.flatMap((p) => Object.keys(p.classes))));
    const pairRow = (p: AgreementPair) =>
      h("tr", { "data-pair": `${p.a}|${p.b}` },
        h("td", { class: "nowrap" }, h("strong", {}, p.a), h("span", { class: "muted" }, " vs "), h("strong", {}, p.b)),
        h("td", {}, iouBar(p.overall.iou)),
        ...pairClasses.map((c) => h("td", { class: "num" }, p.classes[c] ? pct(p.classes[c].iou) : "—")),
        h("td", { class: "num" }, String(p.overall.matched)),
        h("td", { class: "num" }, String(p.disagreements.length)));
    out.push(h("h3", { class: "section-title" }, "Pairs"));
    out.push(h("table", { class: "data-table", id: "agreement-pairs" },
      h("thead", {}, h("tr", {}, h("th", {}, "A vs B"), h("th", {}, "Overall IoU"), ...pairClasses.map((c) => h("th", { class: "num" }, `${c} IoU`)), h("th", { class: "num" }, "Matched"), h("th", { class: "num" }, "Disagreements"))),
      h("tbody", {}, ...annotatorPairs.map(pairRow),
        ...(refPairs.length ? [h("tr", { class: "group-row" }, h("td", { colspan: 4 + pairClasses.length }, "Against the project's labels (reference)")), ...refPairs.map(pairRow)] : []))));

    // disagreements
    const all = report.pairs.flatMap((p) => p.disagreements.map((d) => ({ pair: p, d })));
    const pairFilter = h("select", { id: "disagreement-pair" },
      h("option", { value: "" }, "All pairs"),
      ...report.pairs.filter((p) => p.disagreements.length).map((p) => h("option", { value: `${p.a}|${p.b}` }, `${p.a} vs ${p.b}`)));
    const tbody = h("tbody", {});
    const more = h("p", { class: "muted small" });
    const fill = () => {
      clear(tbody);
      const rows = all.filter(({ pair }) => !pairFilter.value || `${pair.a}|${pair.b}` === pairFilter.value);
      for (const { pair, d } of rows.slice(0, DISAGREEMENT_ROWS)) {
        tbody.appendChild(h("tr", { "data-kind": d.kind },
          h("td", { class: "nowrap" }, `${pair.a} vs ${pair.b}`),
          h("td", {}, h("a", { href: `/panoramas/${d.panorama}/` }, `#${d.panorama}`)),
          h("td", {}, d.class),
          h("td", {}, h("span", { class: `kind kind-${d.kind}` }, KIND_LABELS[d.kind] ?? d.kind)),
          h("td", { class: "num" }, d.a_index === null ? "—" : String(d.a_index)),
          h("td", { class: "num" }, d.b_index === null ? "—" : String(d.b_index)),
          h("td", { class: "num" }, pct(d.iou))));
      }
      if (!rows.length) tbody.appendChild(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No disagreements.")));
      more.textContent = rows.length > DISAGREEMENT_ROWS ? `Showing ${DISAGREEMENT_ROWS} of ${rows.length}; download the CSV for all.` : "";
    };
    pairFilter.addEventListener("change", fill);
    out.push(h("div", { class: "section-head" }, h("h3", { class: "section-title" }, `Disagreements (${all.length})`), h("span", { class: "spacer" }), pairFilter));
    out.push(h("table", { class: "data-table", id: "agreement-disagreements" },
      h("thead", {}, h("tr", {}, ...["Pair", "Panorama", "Class", "Kind", "A #", "B #", "IoU"].map((t, i) => h("th", { class: i >= 4 ? "num" : "" }, t)))),
      tbody));
    out.push(more);
    fill();
    out.push(h("p", { class: "hint" }, "IoU is measured on the sphere: class regions' intersection and union in steradians, summed over panoramas. Instances are matched per class (Hungarian assignment on spherical IoU); A #/B # are instance indices within the class of the panorama."));
    return out;
  }

  // ---- create a round (managers)
  async function openCreate(): Promise<void> {
    const panoramas = await apiList<Panorama>(`/api/panoramas/?project=${projectId}&page_size=1000&ordering=id`);
    const name = h("input", { type: "text", id: "round-name", placeholder: "e.g. Pilot round 1", class: "wide" });
    const threshold = h("input", { type: "number", id: "round-threshold", min: 0.05, max: 1, step: 0.05, value: "0.5" });
    const people = (members ?? []).filter((m) => m.role !== "viewer");
    const annotatorInputs = people.map((m) => h("input", { type: "checkbox", value: String(m.id), name: "annotator" }));
    const panoInputs = panoramas.map((p) => h("input", { type: "checkbox", value: String(p.id), name: "panorama" }));
    const search = h("input", { type: "search", placeholder: "Filter by file name", class: "wide" });
    const panoRows = panoramas.map((p, i) =>
      h("label", { class: "check pick-row", "data-name": p.original_name.toLowerCase() }, panoInputs[i],
        h("span", { class: "grow ellipsis" }, p.original_name), statusBadge(p.status)));
    search.addEventListener("input", () => {
      const q = search.value.trim().toLowerCase();
      panoRows.forEach((row) => (row.hidden = !!q && !row.dataset.name!.includes(q)));
    });
    const error = h("p", { class: "form-error", hidden: true });
    const done = () => overlay.remove();
    const create = h("button", { class: "btn btn-primary", id: "round-create", onclick: async () => {
      const body = {
        project: projectId,
        name: name.value.trim(),
        iou_threshold: Number(threshold.value),
        annotators: annotatorInputs.filter((i) => i.checked).map((i) => Number(i.value)),
        panoramas: panoInputs.filter((i) => i.checked).map((i) => Number(i.value)),
      };
      const problem = !body.name ? "Give the round a name." : body.annotators.length < 2 ? "Choose at least two annotators." : !body.panoramas.length ? "Choose at least one panorama." : "";
      error.textContent = problem;
      error.hidden = !problem;
      if (problem) return;
      create.disabled = true;
      try {
        const made = await api<AgreementRound>("POST", "/api/agreement-rounds/", body);
        done();
        await loadRounds();
        await select(rounds.find((x) => x.id === made.id) ?? made);
      } catch (err) {
        error.textContent = errorText(err);
        error.hidden = false;
        create.disabled = false;
      }
    } }, "Create round");
    const overlay = h("div", { class: "modal-backdrop" },
      h("div", { class: "modal modal-wide", id: "round-dialog" },
        h("h3", {}, "New agreement round"),
        h("p", { class: "hint" }, "Each annotator labels the chosen panoramas independently (a replica outside the project's labels); the report compares them pairwise and against the project's labels."),
        h("div", { class: "form-row" },
          h("label", { class: "field grow" }, h("span", {}, "Name"), name),
          h("label", { class: "field" }, h("span", {}, "IoU threshold"), threshold)),
        h("div", { class: "field" }, h("span", {}, "Annotators"),
          h("div", { class: "chips", id: "round-annotators" },
            ...people.map((m, i) => h("label", { class: "chip" }, annotatorInputs[i], m.username, h("span", { class: "muted small" }, m.role))))),
        h("div", { class: "field" }, h("span", {}, `Panoramas (${panoramas.length})`),
          h("div", { class: "form-row" }, search,
            h("button", { type: "button", class: "link-btn", onclick: () => panoRows.forEach((row, i) => { if (!row.hidden) panoInputs[i].checked = true; }) }, "select shown"),
            h("button", { type: "button", class: "link-btn", onclick: () => panoInputs.forEach((i) => (i.checked = false)) }, "clear")),
          h("div", { class: "pick-list", id: "round-panoramas" }, ...panoRows)),
        error,
        h("div", { class: "modal-actions" }, h("button", { class: "btn", onclick: done }, "Cancel"), create)));
    document.body.appendChild(overlay);
    name.focus();
  }

  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), h("a", { href: `/projects/${projectId}/` }, project.name), "Agreement"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), h("span", { class: "spacer" }), h("span", { class: `role role-${project.role}` }, project.role ?? "")),
      projectTabs(projectId, "agreement", project.role),
      h("div", { class: "split split-narrow" },
        h("section", { class: "box" }, h("div", { class: "box-head" }, h("h2", { class: "box-title" }, "Rounds"), h("span", { class: "spacer" }), newButton), list),
        detail)));
  await loadRounds();
  const wanted = Number(new URLSearchParams(window.location.search).get("round"));
  const initial = rounds.find((r) => r.id === wanted) ?? rounds[0] ?? null;
  if (initial) await select(initial);
  else await renderReport();
}
