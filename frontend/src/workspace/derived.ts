/**
 * Derived images in the workspace (GET /api/assets/images/?panorama=ID):
 *
 * - the "Image" selector shows the original panorama or a whole derived panorama in the
 *   panorama's own frame (cleaned, sky replaced, colour matched, anonymised, …) in the WebGL
 *   view and the side viewers. Every direction shows the same place, so the labels stay drawn
 *   on top and editing goes on as usual. Panoramas in another frame (stabilised) are listed but
 *   disabled: labels would not line up on them; their before/after preview shows them.
 * - "Before/after" opens a dialog with the jobs' before/after previews, masks, and for a whole
 *   panorama without a preview the original and the result one above the other.
 *
 * The choice of image is remembered per user and project (localStorage), like a view setting.
 */
import { api } from "../api";
import { h, toast } from "../ui/dom";
import { loadImage } from "../render/panorama_gl";
import { previewUrl } from "../pages/workspace";
import type { Tiles } from "../types";
import type { Workspace } from "./core";

/** One current asset of the panorama as the API describes it (inference/derived_images.py). */
export interface DerivedImage {
  id: number;
  kind: string;
  label: string;
  role: "panorama" | "rotated" | "preview" | "mask" | "image" | "download";
  format: string;
  version: number;
  job: number | null;
  job_kind: string | null;
  created_at: string;
  size_bytes: number;
  params: Record<string, unknown>;
  width: number | null;
  height: number | null;
  file_url: string | null;
  display_url: string | null;
  tiles: Tiles | null;
  download_url: string;
  error: string;
}

/** Width of the first image shown after a switch (the same as the original's preview). */
const PREVIEW_WIDTH = 2048;
/** Width of each half of a generated before/after pair. */
const PAIR_WIDTH = 1024;

interface State {
  items: DerivedImage[];
  /** Asset id shown; null = the original panorama. */
  current: number | null;
  loading: boolean;
  error: string;
  /** Switch counter: a slower earlier switch never overwrites a later one. */
  seq: number;
  tilesLoaded: number;
  bar: HTMLElement;
}

const states = new WeakMap<Workspace, State>();

const storageKey = (ws: Workspace) => `label360:image:${ws.pano.project}`;

/** Whole panoramas that can be shown under the labels. */
function showable(st: State): DerivedImage[] {
  return st.items.filter((i) => i.role === "panorama" && i.display_url && !i.error);
}

/** What the before/after dialog offers, first shown first: previews, then masks, then pairs for
 * panoramas without a preview (a job stores its mask before its preview, but the picture of
 * what changed is what the dialog is opened for). */
function comparisons(st: State): DerivedImage[] {
  const previews = st.items.filter((i) => i.role === "preview");
  const masks = st.items.filter((i) => i.role === "mask");
  const hasPreview = (p: DerivedImage) => previews.some((i) => i.job !== null && i.job === p.job);
  const pairs = st.items.filter((i) => (i.role === "panorama" || i.role === "rotated") && i.display_url && !hasPreview(i));
  return [...previews, ...masks, ...pairs];
}

/** Load the panorama's derived images and put the selector on the stage (after the first frame). */
export async function loadDerived(ws: Workspace): Promise<void> {
  const bar = h("div", { class: "image-bar", id: "image-bar", hidden: true });
  const st: State = { items: [], current: null, loading: false, error: "", seq: 0, tilesLoaded: 0, bar };
  states.set(ws, st);
  installHook(ws, st);
  ws.stage.appendChild(bar);
  try {
    st.items = await api<DerivedImage[]>("GET", `/api/assets/images/?panorama=${ws.pano.id}`);
  } catch (err) {
    st.error = (err as Error).message;
    return;
  }
  render(ws, st);
  const remembered = localStorage.getItem(storageKey(ws));
  const again = showable(st).find((i) => i.kind === remembered);
  if (again) await showImage(ws, again);
}

function summary(item: DerivedImage): string {
  const params = Object.entries(item.params)
    .slice(0, 6)
    .map(([k, v]) => `${k} ${typeof v === "number" ? +v.toFixed(3) : String(v)}`)
    .join(", ");
  const job = item.job !== null ? ` · job #${item.job}${item.job_kind ? ` (${item.job_kind})` : ""}` : "";
  return `${item.label} · v${item.version}${job} · ${new Date(item.created_at).toLocaleString()}${params ? ` · ${params}` : ""}`;
}

function render(ws: Workspace, st: State): void {
  const options = showable(st);
  const rotated = st.items.filter((i) => i.role === "rotated");
  const compare = comparisons(st);
  st.bar.hidden = options.length + rotated.length + compare.length === 0;
  const select = h(
    "select",
    { id: "image-select", class: "image-select", disabled: st.loading, title: "Which image the views show; the labels stay on top" },
    h("option", { value: "" }, "Original"),
    ...options.map((i) => h("option", { value: String(i.id), title: summary(i) }, `${i.label} (v${i.version})`)),
    ...rotated.map((i) =>
      h("option", { value: String(i.id), disabled: true, title: `${summary(i)}\nIn another frame (rotated${typeof i.params.rotation_deg === "number" ? ` by ${i.params.rotation_deg.toFixed(1)}°` : ""}): labels would not line up; see Before/after.` }, `${i.label} (other frame)`),
    ),
  );
  select.value = st.current === null ? "" : String(st.current);
  select.addEventListener("change", () => {
    const item = options.find((i) => String(i.id) === select.value) ?? null;
    localStorage.setItem(storageKey(ws), item ? item.kind : "");
    void showImage(ws, item);
  });
  st.bar.dataset.state = st.loading ? "loading" : "ready";
  const parts: HTMLElement[] = [h("label", { class: "image-label", for: "image-select" }, "Image"), select];
  if (st.loading) parts.push(h("span", { class: "image-busy" }, "loading…"));
  if (compare.length) parts.push(h("button", { class: "btn btn-small", id: "before-after", type: "button", title: "Before/after previews of the processing results", onclick: () => openCompare(ws, st) }, "Before/after"));
  st.bar.replaceChildren(...parts);
}

/** Show `item` (null: the original) in the renderer and the side viewers: a 2048-px image first, then 4096² tiles. */
export async function showImage(ws: Workspace, item: DerivedImage | null): Promise<void> {
  const st = states.get(ws);
  if (!st) return;
  const seq = ++st.seq;
  const current = () => seq === st.seq;
  st.loading = true;
  render(ws, st);
  const source = item ? `asset:${item.id}` : "";
  const width = item ? item.width ?? 0 : ws.pano.width;
  const height = item ? item.height ?? 0 : ws.pano.height;
  const tiles = item ? item.tiles : ws.pano.tiles;
  try {
    const img = await loadImage(item ? `${item.display_url}?width=${PREVIEW_WIDTH}` : previewUrl(ws.pano.id));
    if (!current()) return;
    const r = ws.renderer;
    if (r) {
      r.setSource(source);
      r.addTile(img, [0, 0, 1, 1], 1, source);
    }
    ws.equirect.setImage(img);
    ws.cubemap.setImage(img);
    ws.request(true);
    st.current = item ? item.id : null;
    st.tilesLoaded = 0;
    ws.stage.dataset.image = item ? item.kind : "original";
    if (r && tiles && width > PREVIEW_WIDTH) {
      const jobs: Promise<void>[] = [];
      for (let row = 0; row < tiles.rows; row++) {
        for (let col = 0; col < tiles.cols; col++) {
          const url = tiles.url_template.replace("{col}", String(col)).replace("{row}", String(row));
          jobs.push(
            loadImage(url).then((tile) => {
              if (!current()) return;
              r.addTile(tile, [(col * tiles.size) / width, (row * tiles.size) / height, tile.naturalWidth / width, tile.naturalHeight / height], 0, source);
              st.tilesLoaded += 1;
            }),
          );
        }
      }
      await Promise.all(jobs);
      if (!current()) return;
      r.dropLevel(1, source);
      ws.request();
    }
  } catch (err) {
    if (current()) toast(`Could not show ${item ? item.label : "the original"}: ${(err as Error).message}`, "error");
  } finally {
    if (current()) {
      st.loading = false;
      render(ws, st);
    }
  }
}

/** The before/after dialog: one comparison at a time, chosen in a list when there are several. */
function openCompare(ws: Workspace, st: State): void {
  const items = comparisons(st);
  if (!items.length) return;
  const view = h("div", { class: "compare-view", id: "compare-view" });
  const caption = h("div", { class: "compare-caption muted", id: "compare-caption" });
  const links = h("div", { class: "compare-links" });
  const show = (item: DerivedImage) => {
    const pair = item.role === "panorama" || item.role === "rotated";
    view.classList.toggle("pair", pair);
    const picture = (src: string, alt: string, label: string) =>
      h("figure", { class: "compare-figure" }, h("img", { src, alt, class: "compare-img", "data-kind": item.kind }), h("figcaption", {}, label));
    view.replaceChildren(
      ...(pair
        ? [picture(`/api/panoramas/${ws.pano.id}/display/?width=${PAIR_WIDTH}`, "original panorama", "Before: the original"), picture(`${item.display_url}?width=${PAIR_WIDTH}`, item.label, `After: ${item.label}`)]
        : [picture(item.file_url ?? `${item.display_url}`, item.label, item.role === "mask" ? "Mask (white = changed)" : "Before (top) and after (bottom)")]),
    );
    caption.textContent = summary(item);
    links.replaceChildren(h("a", { href: item.download_url, class: "btn btn-small" }, `Download ${item.format.toUpperCase()}`));
  };
  const picker = h(
    "select",
    { id: "compare-select", class: "image-select" },
    ...items.map((i) => h("option", { value: String(i.id) }, i.role === "panorama" || i.role === "rotated" ? `${i.label}: original vs result` : i.label)),
  );
  picker.addEventListener("change", () => show(items.find((i) => String(i.id) === picker.value) ?? items[0]));
  const close = () => {
    backdrop.remove();
    document.removeEventListener("keydown", onKey, true);
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Escape") return;
    e.stopPropagation(); // not the workspace's Escape (drop the draft)
    close();
  };
  const dialog = h(
    "div",
    { class: "modal modal-wide compare-dialog", id: "before-after-dialog", role: "dialog", "aria-label": "Before and after" },
    h("h3", {}, "Before / after"),
    items.length > 1 ? picker : null,
    view,
    caption,
    h("div", { class: "modal-actions" }, links, h("button", { class: "btn btn-primary", id: "compare-close", type: "button", onclick: close }, "Close")),
  );
  const backdrop = h("div", { class: "modal-backdrop", onclick: (e: Event) => e.target === backdrop && close() }, dialog);
  document.addEventListener("keydown", onKey, true);
  document.body.appendChild(backdrop);
  show(items[0]);
}

/** window.label360.image(): what the views show (the browser tests read it). */
function installHook(ws: Workspace, st: State): void {
  const hook = (window as any).label360;
  if (!hook) return;
  hook.image = () => ({
    current: st.current === null ? "original" : st.items.find((i) => i.id === st.current)?.kind ?? null,
    loading: st.loading,
    error: st.error,
    tilesLoaded: st.tilesLoaded,
    options: showable(st).map((i) => i.kind),
    source: ws.renderer?.source ?? null,
  });
}
