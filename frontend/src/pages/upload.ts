/** Upload page (managers): drop many files or whole folders, follow each file and the total,
 * see each refusal's reason, and watch the stored panoramas arrive in the project. */
import { api } from "../api";
import type { Project } from "../types";
import { h, topbar } from "../ui/dom";
import { projectTabs } from "../ui/project_nav";
import { type StoredPanorama, UploadQueue, droppedFiles } from "../ui/upload_queue";

export async function uploadPage(root: HTMLElement, projectId: number, username: string): Promise<void> {
  const project = await api<Project>("GET", `/api/projects/${projectId}/`);
  const queue = new UploadQueue(projectId);
  const arrived = h("div", { class: "grid pano-grid arrived-grid", id: "arrived-grid" });
  const total = h("span", { class: "muted", id: "project-count" }, `${project.panorama_count ?? 0} panoramas in the project`);
  let count = project.panorama_count ?? 0;
  queue.onStored = (p: StoredPanorama) => {
    count += 1;
    total.textContent = `${count} panoramas in the project`;
    arrived.prepend(
      h("a", { class: "card pano-card", href: `/panoramas/${p.id}/`, "data-panorama-id": p.id },
        h("div", { class: "thumb" }, h("img", { src: `/api/panoramas/${p.id}/thumbnail/`, alt: p.original_name, loading: "lazy" })),
        h("div", { class: "card-title", title: p.original_name }, p.original_name),
        h("div", { class: "card-meta" }, h("span", {}, `${p.width}×${p.height}`))));
  };
  const files = h("input", { type: "file", id: "upload-files", multiple: true, hidden: true, onchange: (e: Event) => pick(e.target as HTMLInputElement) });
  const folder = h("input", { type: "file", id: "upload-folder", multiple: true, hidden: true, webkitdirectory: true, onchange: (e: Event) => pick(e.target as HTMLInputElement) });
  function pick(input: HTMLInputElement): void {
    const list = Array.from(input.files ?? []).filter((f) => !f.name.startsWith("."));
    queue.add(list.map((file) => ({ file, path: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name })));
    input.value = "";
  }
  const zone = h("div", { class: "drop-zone", id: "drop-zone", tabindex: 0 },
    h("div", { class: "drop-icon" }, "⇪"),
    h("div", { class: "drop-title" }, "Drop panoramas or folders here"),
    h("div", { class: "muted small" }, "JPEG, PNG, TIFF, Radiance HDR, OpenEXR — equirectangular (2:1). Large files upload in resumable chunks."),
    h("div", { class: "form-row drop-buttons" },
      h("button", { class: "btn", type: "button", onclick: () => files.click() }, "Choose files…"),
      h("button", { class: "btn", type: "button", onclick: () => folder.click() }, "Choose a folder…")),
    files, folder);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer) queue.add(await droppedFiles(e.dataTransfer));
  });
  window.addEventListener("beforeunload", (e) => {
    if (Number(queue.el.dataset.pending || 0) > 0) e.preventDefault();
  });
  root.replaceChildren(
    topbar([h("a", { href: "/" }, "Projects"), h("a", { href: `/projects/${projectId}/` }, project.name), "Upload"], username),
    h("main", { class: "page" },
      h("div", { class: "page-head" }, h("h1", {}, project.name), total, h("span", { class: "spacer" }), h("a", { class: "btn", href: `/projects/${projectId}/` }, "Open the navigator")),
      projectTabs(projectId, "upload", project.role),
      h("div", { class: "split upload-split" },
        h("section", { class: "box" }, zone, queue.el),
        h("section", { class: "box" }, h("h2", { class: "box-title" }, "Arrived"), h("p", { class: "hint" }, "Stored panoramas appear here as they arrive; they are in the navigator at once."), arrived))));
  document.body.dataset.ready = "1";
}
