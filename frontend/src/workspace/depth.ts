/** Depth map wiring: loading the depth asset, the equirect Colour/Depth switch, the surface cursor toggle and its HUD item. */
import { api } from "../api";
import { h } from "../ui/dom";
import type { DerivedAsset, Page } from "../types";
import { DepthMap, fetchNpy } from "../render/depth";
import type { Workspace } from "./core";

/**
 * Where the loaded depth came from: "model" (a registered depth network, one unknown global
 * scale) or "prior" (the geometric prior: an assumed ground plane and far field, the same for
 * every photo — labelled so nobody takes it for a measurement).
 */
const depthSources = new WeakMap<Workspace, string>();

export function depthIsPrior(ws: Workspace): boolean {
  return depthSources.get(ws) === "prior";
}

/** The panorama's depth map (and normals when small enough), if the depth job has run. */
export async function loadDepth(ws: Workspace): Promise<void> {
  const id = ws.pano.id;
  const latest = (page: Page<DerivedAsset>) => page.results.reduce<DerivedAsset | null>((a, b) => (!a || b.version > a.version ? b : a), null);
  try {
    const [depthPage, normalPage] = await Promise.all([
      api<Page<DerivedAsset>>("GET", `/api/assets/?panorama=${id}&kind=depth`),
      api<Page<DerivedAsset>>("GET", `/api/assets/?panorama=${id}&kind=normals`),
    ]);
    const depthAsset = latest(depthPage);
    if (!depthAsset) return;
    // assets of older jobs name the prior only in their estimator
    const source = depthAsset.params.source ?? (depthAsset.params.estimator === "geometric" ? "prior" : "model");
    depthSources.set(ws, String(source));
    ws.depthState = "loading";
    ws.renderEquirectMode();
    const normalAsset = latest(normalPage);
    // normals are 3× the depth's size; above 64 MiB they are derived from the depth instead
    const wantNormals = normalAsset && normalAsset.size_bytes <= 64 * 1024 * 1024;
    const [depth, normals] = await Promise.all([
      fetchNpy(depthAsset.download_url),
      wantNormals ? fetchNpy(normalAsset.download_url).catch(() => null) : Promise.resolve(null),
    ]);
    ws.depth = DepthMap.fromNpy(depth, normals);
    ws.equirect.setDepthImage(ws.depth.colorize(1024));
    ws.depthState = "ready";
    ws.marks.depthLoaded = performance.now();
  } catch (err) {
    ws.depthState = "error";
    ws.depthMessage = (err as Error).message;
  }
  ws.renderEquirectMode();
  ws.renderToolbar();
  ws.needs.overlay = true;
}

/** Colour / Depth switch of the equirect viewer (Depth only when a depth map exists). */
export function renderEquirectMode(ws: Workspace): void {
  const mode = ws.equirect.mode;
  const hasDepth = ws.equirect.hasDepth();
  const titles: Record<string, string> = {
    none: "No depth map for this panorama (a manager can run the depth job)",
    loading: "Loading the depth map…",
    error: `Depth map not available: ${ws.depthMessage}`,
    ready: depthIsPrior(ws)
      ? "Geometric prior, not a measurement: an assumed ground plane and far field, the same for every photo (register a depth model for real depth)"
      : "Show the colourised depth (near = warm)",
  };
  const label = depthIsPrior(ws) ? "Depth prior" : "Depth";
  const seg = (id: string, label: string, value: "color" | "depth", disabled: boolean, title: string) =>
    h("button", { class: `seg-btn${mode === value ? " active" : ""}`, id, disabled, title, "aria-pressed": String(mode === value),
      onclick: () => ws.setEquirectMode(value) }, label);
  ws.eqModeHost.dataset.depth = ws.depthState;
  ws.eqModeHost.dataset.depthSource = depthSources.get(ws) ?? "";
  ws.eqModeHost.replaceChildren(
    seg("equirect-color", "Colour", "color", false, "Show the panorama"),
    seg("equirect-depth", ws.depthState === "loading" ? `${label}…` : label, "depth", !hasDepth, titles[ws.depthState]),
  );
  ws.depthLegend.hidden = mode !== "depth";
}

export function setEquirectMode(ws: Workspace, mode: "color" | "depth"): void {
  ws.equirect.setMode(mode);
  ws.renderEquirectMode();
  ws.needs.overlay = true;
}

export function toggleSurfaceCursor(ws: Workspace): void {
  if (!ws.depth) return;
  ws.surfaceCursorOn = !ws.surfaceCursorOn;
  ws.renderToolbar();
  ws.needs.overlay = true;
}

export function depthHud(ws: Workspace): HTMLElement[] {
  const c = ws.lastCursor;
  if (!c) return [];
  return depthIsPrior(ws)
    ? [h("span", { class: "hud-item", id: "hud-depth", title: "From the geometric prior (assumed ground and far field), not measured" }, `prior ${c.distance.toFixed(2)} m`)]
    : [h("span", { class: "hud-item", id: "hud-depth", title: "Distance of the surface under the cursor (depth map units)" }, `surface ${c.distance.toFixed(2)}`)];
}
