/** Save state and review workflow: the save pill, conflict/error/stash banner, reload and re-apply, flushing saves, and the submit/approve/reject/reopen actions. */
import { api } from "../api";
import { askText, h, toast } from "../ui/dom";
import { readStash, reapply, clearStash } from "../saver";
import type { Panorama, InstancesResponse } from "../types";
import type { Workspace } from "./core";

export function renderSaveState(ws: Workspace): void {
  const s = ws.saver.state;
  const labels: Record<string, string> = { saved: "Saved", pending: "Unsaved changes", saving: "Saving…", offline: "Offline — retrying", conflict: "Conflict", error: "Not saved", readonly: "Read-only" };
  ws.savePill.dataset.state = s;
  ws.savePill.textContent = labels[s] ?? s;
  ws.savePill.title = ws.saver.message;
  ws.renderBanner();
}

export function renderBanner(ws: Workspace): void {
  const b = ws.banner;
  const stash = ws.canEdit ? readStash(ws.pano.id) : null;
  if (ws.saver.state === "conflict") {
    b.hidden = false;
    b.className = "banner banner-conflict";
    b.dataset.kind = "conflict";
    b.replaceChildren(
      h("strong", {}, "Someone else changed this panorama."),
      h("span", {}, " Your edits were not saved; they are kept in this browser. Load the latest version, then re-apply them."),
      h("button", { class: "btn btn-primary", id: "conflict-reload", onclick: () => ws.reloadFromServer(true) }, "Load latest"),
    );
  } else if (ws.saver.state === "error") {
    b.hidden = false;
    b.className = "banner banner-error";
    b.dataset.kind = "error";
    b.replaceChildren(h("strong", {}, "Not saved: "), h("span", {}, ws.saver.message), h("button", { class: "btn", onclick: () => ws.store.undo() }, "Undo last edit"));
  } else if (stash) {
    b.hidden = false;
    b.className = "banner banner-info";
    b.dataset.kind = "stash";
    b.replaceChildren(
      h("strong", {}, "You have edits that were not saved"),
      h("span", {}, ` (${stash.instances.length} instances, from ${new Date(stash.savedAt).toLocaleTimeString()}).`),
      h("button", { class: "btn btn-primary", id: "reapply-edits", onclick: () => ws.reapplyStash() }, "Re-apply my edits"),
      h("button", { class: "btn", id: "discard-edits", onclick: () => (clearStash(ws.pano.id), ws.renderBanner()) }, "Discard"),
    );
  } else {
    b.hidden = true;
    b.dataset.kind = "";
  }
}

export async function reloadFromServer(ws: Workspace, keepStash: boolean): Promise<void> {
  if (keepStash && ws.canEdit) ws.saver.stash();
  const data = await api<InstancesResponse>("GET", `/api/panoramas/${ws.pano.id}/instances/`);
  ws.saver.state = ws.canEdit ? "saved" : "readonly";
  ws.saver.clearPending();
  ws.adopt(data);
  ws.renderSaveState();
  ws.request();
}

export function reapplyStash(ws: Workspace): void {
  const stash = readStash(ws.pano.id);
  if (!stash) return;
  reapply(ws.saver, ws.store, stash);
  ws.renderBanner();
  toast("Your edits were re-applied on top of the latest version.");
}

/** Wait until the local set is on the server; false when it cannot be (conflict, error…). */
export async function flushSaves(ws: Workspace, timeoutMs = 15000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const st = ws.saver.state;
    if (st === "conflict" || st === "error" || st === "readonly") return false;
    if (!ws.saver.dirty() && st !== "saving" && st !== "pending") return true;
    await ws.saver.save();
    await new Promise((r) => window.setTimeout(r, 80));
  }
  return false;
}

export function renderWorkflow(ws: Workspace): void {
  const s = ws.pano.status;
  const r = ws.role;
  const buttons: HTMLElement[] = [];
  const act = (action: string, label: string, cls: string, needComment: boolean) =>
    h("button", { class: `btn ${cls}`, id: `wf-${action}`, onclick: () => ws.review(action, needComment) }, label);
  if (ws.canEdit && ["new", "in_progress", "rejected"].includes(s)) buttons.push(act("submit", "Submit", "btn-primary", false));
  if (["admin", "manager", "reviewer"].includes(r) && s === "submitted") buttons.push(act("approve", "Approve", "btn-success", false));
  if (["admin", "manager", "reviewer"].includes(r) && ["submitted", "approved"].includes(s)) buttons.push(act("reject", "Reject", "btn-danger", true));
  if (["admin", "manager"].includes(r) && ["submitted", "approved", "rejected"].includes(s)) buttons.push(act("reopen", "Reopen", "btn", false));
  ws.workflow.replaceChildren(...buttons);
}

export async function review(ws: Workspace, action: string, needComment: boolean): Promise<void> {
  let comment = "";
  if (needComment || action === "approve") {
    const c = await askText(action === "reject" ? "Reject: what needs fixing?" : `${action[0].toUpperCase()}${action.slice(1)} — comment (optional)`, "Comment", needComment);
    if (c === null) return;
    comment = c;
  }
  if (action === "submit") await ws.saver.save();
  try {
    const updated = await api<Panorama>("POST", `/api/panoramas/${ws.pano.id}/${action}/`, { comment });
    ws.pano = { ...ws.pano, status: updated.status };
    ws.renderStatus();
    ws.renderWorkflow();
    void ws.reviewPanel.load(updated.status);
    toast(`Panorama ${updated.status.replace("_", " ")}.`);
  } catch (err) {
    toast((err as Error).message, "error");
  }
}
