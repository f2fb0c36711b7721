/** Tabs shared by a project's pages and small formatters. */
import { h } from "./dom";

export type ProjectTab = "panoramas" | "upload" | "dashboard" | "export" | "agreement" | "settings";

/** The project's tabs; Upload and Settings only for managers (and admins), Dashboard for
 * reviewers too (the API refuses the others anyway). */
export function projectTabs(projectId: number, active: ProjectTab, role: string | null = null): HTMLElement {
  const manager = role === "admin" || role === "manager";
  const reviewer = manager || role === "reviewer";
  const tabs: [ProjectTab, string, string, boolean][] = [
    ["panoramas", "Panoramas", `/projects/${projectId}/`, true],
    ["upload", "Upload", `/projects/${projectId}/upload/`, manager],
    ["dashboard", "Dashboard", `/projects/${projectId}/dashboard/`, reviewer],
    ["export", "Export", `/projects/${projectId}/export/`, true],
    ["agreement", "Agreement", `/projects/${projectId}/agreement/`, true],
    ["settings", "Settings", `/projects/${projectId}/settings/`, manager],
  ];
  return h("nav", { class: "tabs", "aria-label": "Project" },
    ...tabs.filter((t) => t[3]).map(([key, label, href]) =>
      h("a", { class: `tab${key === active ? " active" : ""}`, href, id: `tab-${key}`, "aria-current": key === active ? "page" : undefined }, label)));
}

export function formatBytes(n: number): string {
  if (!n) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v < 10 && i ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** IoU as a percentage ("—" when undefined, e.g. both sides empty). */
export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(digits)}%`;
}

/** A horizontal bar showing a 0–1 value, coloured from red (0) to green (1). */
export function iouBar(v: number | null | undefined): HTMLElement {
  const bar = h("span", { class: "iou-bar" });
  if (v !== null && v !== undefined) {
    const fill = h("span", { class: "iou-fill" });
    fill.style.width = `${Math.max(0, Math.min(1, v)) * 100}%`;
    fill.style.background = `hsl(${Math.round(Math.max(0, Math.min(1, v)) * 130)}, 62%, 46%)`;
    bar.appendChild(fill);
  }
  return h("span", { class: "iou-cell" }, bar, h("span", { class: "iou-num" }, pct(v)));
}
