/** Export page: request a dataset export (docs/datasets.md), follow its job, download it, and
 * list the project's previous exports. Every member (viewers too) may export. */
import { ApiError, api, apiList } from "../api";
import type { DatasetExport, LabelClass, Project } from "../types";
import { STATUS_LABELS, clear, h, topbar } from "../ui/dom";
import { formatBytes, formatDate, projectTabs } from "../ui/project_nav";

export const FORMATS: { value: DatasetExport["format"]; title: string; desc: string }[] = [
  { value: "coco", title: "COCO", desc: "Instance segmentation on the equirectangular images (RLE masks, seam-aware boxes)." },
  { value: "coco_views", title: "COCO on views", desc: "One COCO image per cube face; polygons clipped exactly to each perspective view." },
  { value: "png", title: "Label PNGs", desc: "Cityscapes-style semantic (8-bit) and instance (16-bit) PNGs with a legend." },
  { value: "label360", title: "Label360 JSON", desc: "Full fidelity, spherical geometry and review history; re-importable losslessly." },
];
const FORMAT_TITLE: Record<string, string> = Object.fromEntries(FORMATS.map((f) => [f.value, f.title]));
const POLL_MS = 1000;

function errorText(err: unknown): string {
  if (err instanceof ApiError && err.body && typeof err.body === "object") {
    if (err.body.detail) return String(err.body.detail);
    return Object.entries(err.body).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`).join("; ");
  }
  return String((err as Error)?.message || err);
}

function optionsSummary(e: DatasetExport, classNames: Map<number, string>): string {
  const o = e.options || {};
  const parts: string[] = [];
  const statuses: string[] = o.statuses || [];
  parts.push(statuses.length ? statuses.map((s) => STATUS_LABELS[s] ?? s).join(", ") : "all statuses");
  const classes: number[] = o.classes || [];
  parts.push(classes.length ? classes.map((c) => classNames.get(c) ?? `#${c}`).join(", ") : "all classes");
  if (o.include_images) parts.push("with images");
  if (o.include_suggestions) parts.push("with suggestions");
  if (e.format === "coco_views" && (o.views ?? "cubemap") === "cubemap") parts.push(`cube faces ${o.face_size ?? 512}px · ${o.face_fov ?? 90}°`);
  return parts.join(" · ");
}

function countsSummary(e: DatasetExport): string {
  const s = e.summary || {};
  const parts: string[] = [];
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (s.panoramas !== undefined) parts.push(count(s.panoramas, "panorama"));
  if (s.images !== undefined) parts.push(count(s.images, "image"));
  if (s.annotations !== undefined) parts.push(count(s.annotations, "annotation"));
  if (s.instances !== undefined) parts.push(count(s.instances, "instance"));
  return parts.join(" · ");
}

function exportBadge(status: string): HTMLElement {
  const labels: Record<string, string> = { pending: "Queued", running: "Running", ready: "Ready", failed: "Failed" };
  return h("span", { class: `badge export-${status}`, "data-status": status }, labels[status] ?? status);
}

export async function exportsPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const [project, classes] = await Promise.all([
    api<Project>("GET", `/api/projects/${projectId}/`),
    apiList<LabelClass>(`/api/classes/?project=${projectId}`),
  ]);
  classes.sort((a, b) => a.order - b.order || a.id - b.id);
  const classNames = new Map(classes.map((c) => [c.id, c.name]));

  // ---- the form
  const formatInputs = FORMATS.map((f, i) =>
    h("input", { type: "radio", name: "format", value: f.value, checked: i === 0, id: `format-${f.value}` }));
  const formatChoices = h("div", { class: "choice-grid" },
    ...FORMATS.map((f, i) =>
      h("label", { class: "choice", for: `format-${f.value}` }, formatInputs[i],
        h("span", { class: "choice-body" }, h("span", { class: "choice-title" }, f.title), h("span", { class: "choice-desc" }, f.desc)))));
  const statusInputs = Object.entries(STATUS_LABELS).map(([value]) =>
    h("input", { type: "checkbox", name: "status", value, checked: true }));
  const statusChips = h("div", { class: "chips", id: "export-statuses" },
    ...Object.entries(STATUS_LABELS).map(([value, label], i) =>
      h("label", { class: `chip status-chip status-${value}` }, statusInputs[i], label)));
  const classInputs = classes.map((c) => h("input", { type: "checkbox", name: "class", value: String(c.id), checked: true }));
  const setAll = (inputs: HTMLInputElement[], on: boolean) => {
    inputs.forEach((i) => (i.checked = on));
    validate();
  };
  const classChips = h("div", { class: "chips", id: "export-classes" },
    ...classes.map((c, i) =>
      h("label", { class: "chip", title: c.is_ignore ? "ignore class" : c.is_group ? "group class" : "" }, classInputs[i],
        h("span", { class: "swatch", style: { background: c.color } }), c.name,
        c.is_ignore ? h("span", { class: "muted small" }, "ignore") : null)));
  if (!classes.length) classChips.appendChild(h("span", { class: "muted" }, "The project has no classes."));
  const images = h("input", { type: "checkbox", id: "export-images" });
  const suggestions = h("input", { type: "checkbox", id: "export-suggestions" });
  const ignore = h("select", { id: "export-ignore" },
    h("option", { value: "crowd" }, "as crowd (iscrowd: 1)"),
    h("option", { value: "omit" }, "leave out"));
  const faceSize = h("input", { type: "number", id: "export-face-size", min: 64, max: 4096, step: 1, value: "512" });
  const faceFov = h("input", { type: "number", id: "export-face-fov", min: 90, max: 170, step: 1, value: String(Math.max(90, project.default_fov || 90)) });
  const viewsBox = h("fieldset", { class: "fieldset", id: "export-views", hidden: true },
    h("legend", {}, "Views"),
    h("p", { class: "hint" }, "Six cube faces (F R B L U D) per panorama. A field of view above 90° adds an overlapping margin."),
    h("div", { class: "form-row" },
      h("label", { class: "field" }, h("span", {}, "Face size (px)"), faceSize),
      h("label", { class: "field" }, h("span", {}, "Face FOV (°)"), faceFov)));
  const formError = h("p", { class: "form-error", id: "export-error", hidden: true });
  const submit = h("button", { class: "btn btn-primary", type: "submit", id: "export-submit" }, "⤓ Export");
  const progressLabel = h("span", { class: "progress-label" });
  const progressFill = h("span", { class: "progress-fill" });
  const progressActions = h("span", { class: "progress-actions" });
  const progress = h("div", { class: "export-progress", id: "export-progress", hidden: true },
    h("div", { class: "progress-line" }, progressLabel, h("span", { class: "spacer" }), progressActions),
    h("div", { class: "progress-track" }, progressFill));

  const selectedFormat = () => formatInputs.find((i) => i.checked)?.value ?? "coco";
  function validate(): boolean {
    let problem = "";
    if (!statusInputs.some((i) => i.checked)) problem = "Choose at least one status.";
    else if (classes.length && !classInputs.some((i) => i.checked)) problem = "Choose at least one class.";
    else if (selectedFormat() === "coco_views") {
      const size = Number(faceSize.value);
      const fov = Number(faceFov.value);
      if (!(size >= 64 && size <= 4096)) problem = "Face size must be between 64 and 4096 px.";
      else if (!(fov >= 90 && fov < 180)) problem = "Face FOV must be at least 90° (and below 180°).";
    }
    formError.textContent = problem;
    formError.hidden = !problem;
    submit.disabled = !!problem || busy;
    return !problem;
  }
  for (const i of formatInputs) i.addEventListener("change", () => {
    viewsBox.hidden = selectedFormat() !== "coco_views";
    images.closest("label")!.querySelector(".choice-note")!.textContent =
      selectedFormat() === "png" ? " (not used by label PNGs)" : "";
    validate();
  });
  for (const i of [...statusInputs, ...classInputs, faceSize, faceFov]) i.addEventListener("input", validate);

  function requestBody(): Record<string, unknown> {
    const format = selectedFormat();
    const statuses = statusInputs.filter((i) => i.checked).map((i) => i.value);
    const picked = classInputs.filter((i) => i.checked).map((i) => Number(i.value));
    const body: Record<string, unknown> = {
      project: projectId,
      format,
      // everything selected = no filter (empty list), so the cache key does not depend on it
      statuses: statuses.length === statusInputs.length ? [] : statuses,
      classes: picked.length === classInputs.length ? [] : picked,
      include_images: images.checked,
      include_suggestions: suggestions.checked,
      ignore: ignore.value,
    };
    if (format === "coco_views") Object.assign(body, { views: "cubemap", face_size: Number(faceSize.value), face_fov: Number(faceFov.value) });
    return body;
  }

  // ---- progress of the current request
  let busy = false;
  function showProgress(e: DatasetExport): void {
    progress.hidden = false;
    progress.dataset.status = e.status;
    progress.dataset.exportId = String(e.id);
    clear(progressActions);
    const frac = e.status === "ready" ? 1 : e.job?.progress ?? 0;
    progressFill.style.width = `${Math.round(Math.max(0.03, frac) * 100)}%`;
    progressFill.className = `progress-fill fill-${e.status}`;
    if (e.status === "ready") {
      const counts = countsSummary(e);
      progressLabel.textContent = `${e.cached ? "Unchanged since export" : "Export"} #${e.id} ready · ${formatBytes(e.size_bytes)}${counts ? " · " + counts : ""}`;
      progressActions.appendChild(h("a", { class: "btn btn-success", href: e.download_url!, download: "", id: "export-download" }, "Download zip"));
    } else if (e.status === "failed") {
      progressLabel.textContent = `Export #${e.id} failed: ${e.error || e.job?.error || "unknown error"}`;
    } else {
      const msg = e.job?.message ? ` · ${e.job.message}` : "";
      progressLabel.textContent = `${e.status === "pending" ? "Queued" : "Exporting"} #${e.id}… ${Math.round(frac * 100)}%${msg}`;
    }
  }

  async function follow(e: DatasetExport): Promise<void> {
    showProgress(e);
    let errors = 0;
    while (e.status === "pending" || e.status === "running") {
      await new Promise((r) => window.setTimeout(r, POLL_MS));
      try {
        e = await api<DatasetExport>("GET", `/api/exports/${e.id}/`);
        errors = 0;
      } catch (err) {
        errors += 1;
        if (errors > 5) throw err;
        continue;
      }
      showProgress(e);
    }
    await refreshList();
  }

  const form = h("form", { class: "export-form", id: "export-form", novalidate: true },
    h("fieldset", { class: "fieldset" }, h("legend", {}, "Format"), formatChoices),
    h("fieldset", { class: "fieldset" }, h("legend", {}, "Panorama status"),
      statusChips,
      h("div", { class: "hint" }, "Only panoramas in the checked statuses are exported.")),
    h("fieldset", { class: "fieldset" }, h("legend", {}, "Classes",
      h("span", { class: "legend-actions" },
        h("button", { type: "button", class: "link-btn", onclick: () => setAll(classInputs, true) }, "all"),
        h("button", { type: "button", class: "link-btn", onclick: () => setAll(classInputs, false) }, "none"))),
      classChips),
    h("fieldset", { class: "fieldset" }, h("legend", {}, "Content"),
      h("label", { class: "check" }, images, "Include the panorama images", h("span", { class: "choice-note muted" })),
      h("label", { class: "check" }, suggestions, "Include model suggestions not yet accepted"),
      h("label", { class: "field inline" }, h("span", {}, "Ignore classes"), ignore)),
    viewsBox,
    formError,
    h("div", { class: "form-actions" }, submit),
    progress);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy || !validate()) return;
    busy = true;
    submit.disabled = true;
    submit.textContent = "Exporting…";
    try {
      const e = await api<DatasetExport>("POST", "/api/exports/", requestBody());
      await follow(e);
    } catch (err) {
      formError.textContent = `Export failed: ${errorText(err)}`;
      formError.hidden = false;
    } finally {
      busy = false;
      submit.textContent = "⤓ Export";
      validate();
    }
  });

  // ---- previous exports
  const listBody = h("tbody", {});
  const listEmpty = h("p", { class: "empty", hidden: true }, "No exports yet.");
  const table = h("table", { class: "data-table", id: "export-list" },
    h("thead", {}, h("tr", {}, ...["#", "Format", "Selection", "Requested", "Status", "Size", ""].map((t) => h("th", { class: t === "Size" ? "num" : "" }, t)))),
    listBody);
  let listTimer = 0;
  async function refreshList(): Promise<void> {
    window.clearTimeout(listTimer);
    const items = await apiList<DatasetExport>(`/api/exports/?project=${projectId}`);
    clear(listBody);
    listEmpty.hidden = items.length > 0;
    table.hidden = items.length === 0;
    table.dataset.loaded = "1";
    for (const e of items) {
      const counts = countsSummary(e);
      listBody.appendChild(
        h("tr", { "data-export-id": e.id, "data-status": e.status },
          h("td", { class: "num muted" }, `#${e.id}`),
          h("td", {}, h("span", { class: "format-tag" }, FORMAT_TITLE[e.format] ?? e.format)),
          h("td", { class: "selection" }, optionsSummary(e, classNames), counts ? h("div", { class: "muted small" }, counts) : null),
          h("td", { class: "muted nowrap" }, formatDate(e.created_at)),
          h("td", {}, exportBadge(e.status), e.status === "running" && e.job ? h("span", { class: "muted small" }, ` ${Math.round(e.job.progress * 100)}%`) : null,
            e.status === "failed" && e.error ? h("div", { class: "muted small", title: e.error }, e.error.slice(0, 80)) : null),
          h("td", { class: "num nowrap" }, e.status === "ready" ? formatBytes(e.size_bytes) : "—"),
          h("td", { class: "nowrap" }, e.download_url ? h("a", { class: "btn btn-small", href: e.download_url, download: "" }, "⤓ Download") : null)));
    }
    if (items.some((e) => e.status === "pending" || e.status === "running")) listTimer = window.setTimeout(() => void refreshList(), 3000);
  }

  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), h("a", { href: `/projects/${projectId}/` }, project.name), "Export"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), h("span", { class: "spacer" }), h("span", { class: `role role-${project.role}` }, project.role ?? "")),
      projectTabs(projectId, "export", project.role),
      h("div", { class: "split" },
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "New export"), form),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Previous exports"),
          h("p", { class: "hint" }, "Exports are cached: asking again for unchanged labels returns the same file at once."),
          table, listEmpty))));
  validate();
  await refreshList();
}
