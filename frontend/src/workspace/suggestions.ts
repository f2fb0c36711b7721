/** Model suggestions: the interactive box tool (request, clicks, accept/discard card), accepting/rejecting server-side suggestions, and their models' provenance. */
import { ApiError, api } from "../api";
import type { ViewParams } from "../sphere";
import { h, toast } from "../ui/dom";
import { newUid, type Inst } from "../store";
import type { Provenance } from "../ui/instances";
import type { Workspace } from "./core";

export function sameView(ws: Workspace, a: ViewParams, b: ViewParams): boolean {
  return a.yaw === b.yaw && a.pitch === b.pitch && a.roll === b.roll && a.hfov === b.hfov && a.width === b.width && a.height === b.height;
}

export function startInteractive(ws: Workspace, box: [number, number, number, number]): void {
  if (!ws.canEdit) return;
  ws.interactive = { view: ws.view().params(), box, positive: [], negative: [], result: null, busy: false, seq: 0 };
  void ws.runInteractive();
}

export function addInteractivePoint(ws: Workspace, x: number, y: number, positive: boolean): void {
  const ia = ws.interactive;
  if (!ia || !ws.sameView(ia.view, ws.view().params())) {
    toast("Drag a box around the object first (the camera moved since the last box).");
    return;
  }
  (positive ? ia.positive : ia.negative).push([x, y]);
  void ws.runInteractive();
}

/** POST /api/prelabel/interactive/ with the view, box and clicks; the reply is a suggestion. */
export async function runInteractive(ws: Workspace): Promise<void> {
  const ia = ws.interactive;
  if (!ia) return;
  const seq = ++ia.seq;
  ia.busy = true;
  ws.renderBoxCard();
  ws.needs.overlay = true;
  const cls = ws.classes.current;
  try {
    const res = await api<{ geometry: Inst["geometry"]; score: number | null; label_class: number | null; backend?: string | null; model?: string; timings?: { prior?: string } }>("POST", "/api/prelabel/interactive/", {
      panorama: ws.pano.id,
      view: ia.view,
      box: ia.box,
      positive: ia.positive,
      negative: ia.negative,
      ...(cls !== null ? { label_class: cls } : {}),
    });
    if (ws.interactive !== ia || ia.seq !== seq) return; // superseded
    if (!res.geometry?.length) {
      ia.result = null;
      toast("Nothing found in the box; add a positive click on the object or draw a tighter box.");
      return;
    }
    ia.result = {
      uid: "interactive",
      label_class: res.label_class ?? cls ?? ws.classes.classes[0]?.id ?? 0,
      geometry: res.geometry,
      source: "model",
      is_suggestion: true,
      score: res.score ?? null,
      model_version: "interactive box",
      attributes: {},
    };
    // which method answered: the registered prompt model, or GrabCut (with or without the project model's prior, and why)
    ia.backend = res.backend === "prompt_model" ? `Prompt model ${res.model ?? ""}`.trim() : `GrabCut${res.timings?.prior ? ` · prior: ${res.timings.prior}` : ""}`;
  } catch (err) {
    if (ws.interactive === ia && ia.seq === seq) toast(`Box tool: ${(err as Error).message}`, "error");
  } finally {
    if (ws.interactive === ia && ia.seq === seq) ia.busy = false;
    ws.renderBoxCard();
    ws.needs.overlay = true;
  }
}

/** The returned polygon joins the set as an ordinary (accepted) instance; autosave writes it. */
export function acceptInteractive(ws: Workspace): boolean {
  const res = ws.interactive?.result;
  if (!res || !ws.canEdit) return false;
  ws.store.add({ ...res, uid: newUid(), is_suggestion: false });
  ws.interactive = null;
  ws.renderBoxCard();
  ws.request();
  return true;
}

export function discardInteractive(ws: Workspace): boolean {
  if (!ws.interactive) return false;
  ws.interactive = null;
  ws.renderBoxCard();
  ws.request();
  return true;
}

export function renderBoxCard(ws: Workspace): void {
  const ia = ws.interactive;
  const card = ws.boxCard;
  card.hidden = !ia;
  if (!ia) return;
  const r = ia.result;
  card.dataset.state = ia.busy ? "busy" : r ? "ready" : "empty";
  const backend = r && ia.backend ? [h("span", { class: "muted box-backend", id: "box-backend", title: ia.backend }, ia.backend)] : [];
  card.replaceChildren(
    h("strong", {}, ia.busy ? "Segmenting…" : r ? `Suggestion${r.score != null ? ` ${Math.round(r.score * 100)}%` : ""}` : "No suggestion"),
    h("span", { class: "muted" }, `+${ia.positive.length} / −${ia.negative.length} clicks · click: add, Shift/right-click: remove`),
    ...backend,
    h("button", { class: "btn btn-small btn-success", id: "box-accept", disabled: !r || ia.busy, onclick: () => ws.acceptInteractive() }, "Accept ↵"),
    h("button", { class: "btn btn-small", id: "box-discard", onclick: () => ws.discardInteractive() }, "Discard Esc"),
  );
}

/**
 * Accept or reject model suggestions on the server (POST /api/prelabel/suggestions/accept|reject/,
 * revision-checked, see docs/prelabel.md). Local edits are saved first so the decision is based
 * on the current revision; afterwards the server's set is adopted. A 409 (someone else saved in
 * between) loads the latest set and asks to decide again — there are no local edits to lose.
 */
export async function decideSuggestions(ws: Workspace, action: "accept" | "reject", opts: { insts?: Inst[]; minScore?: number }): Promise<void> {
  if (!ws.canEdit || ws.instancesPanel.busy) return;
  const panel = ws.instancesPanel;
  panel.busy = true;
  panel.render();
  try {
    if (!(await ws.flushSaves())) {
      toast("Your edits are not saved yet (see the banner); decide on suggestions after that.", "error");
      return;
    }
    const body: Record<string, unknown> = { panorama: ws.pano.id, revision: ws.saver.revision };
    if (opts.insts) {
      const ids = opts.insts.map((i) => ws.saver.serverIds.get(i.uid)).filter((id): id is number => id !== undefined);
      if (!ids.length) return;
      body.ids = ids;
    } else body.min_score = opts.minScore ?? 0;
    const result = await api<{ accepted?: number[]; rejected?: number[]; revision: number }>("POST", `/api/prelabel/suggestions/${action}/`, body);
    const n = (action === "accept" ? result.accepted : result.rejected)?.length ?? 0;
    await ws.reloadFromServer(false);
    toast(`${n} suggestion${n === 1 ? "" : "s"} ${action === "accept" ? "accepted" : "rejected"}.`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      await ws.reloadFromServer(false);
      toast("Someone else changed this panorama meanwhile; the latest version is loaded — please decide again.", "error");
    } else toast((err as Error).message, "error");
  } finally {
    panel.busy = false;
    panel.render();
  }
}

/** GET /api/prelabel/provenance/ for the panorama; the panel shows each model's line. */
export async function loadProvenance(ws: Workspace): Promise<void> {
  try {
    const res = await api<{ models: Record<string, Provenance> }>("GET", `/api/prelabel/provenance/?panorama=${ws.pano.id}`);
    ws.instancesPanel.setProvenance(res.models ?? {});
  } catch {
    // provenance is information only: the suggestions stay usable without it
  }
}
