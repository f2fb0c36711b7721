/**
 * Save state and review workflow: the save pill; the conflict / error / stash / read-only banner;
 * loading the latest version and merging the stashed edits into it (merge.ts, with the conflict
 * dialog for overlapping changes); flushing saves; who may edit now (the workflow state); and the
 * submit / approve / reject / reopen actions.
 */
import { api } from "../api";
import { planMerge, resolveMerge, type Side } from "../merge";
import { clearStash, readStash, snapshotBase } from "../saver";
import { askText, h, toast } from "../ui/dom";
import type { Panorama, InstancesResponse } from "../types";
import { chooseConflicts } from "./conflicts";
import type { Workspace } from "./core";

const SAVE_LABELS: Record<string, string> = {
  saved: "Saved",
  pending: "Unsaved changes",
  saving: "Saving…",
  offline: "Offline — retrying",
  conflict: "Conflict",
  error: "Not saved",
  readonly: "Read-only",
  locked: "Read-only — not saved",
  stashed: "Edits not applied",
};

export function renderSaveState(ws: Workspace): void {
  const s = ws.saver.state;
  ws.savePill.dataset.state = s;
  ws.savePill.textContent = SAVE_LABELS[s] ?? s;
  ws.savePill.title = ws.saver.message;
  ws.renderBanner();
}

export function renderBanner(ws: Workspace): void {
  const b = ws.banner;
  const stash = readStash(ws.pano.id);
  const show = (kind: string, cls: string, ...children: (HTMLElement | null)[]) => {
    b.hidden = false;
    b.className = `banner ${cls}`;
    b.dataset.kind = kind;
    b.replaceChildren(...children.filter((c): c is HTMLElement => c !== null));
  };
  if (ws.saver.state === "conflict") {
    show("conflict", "banner-conflict",
      h("strong", {}, "Someone else changed this panorama."),
      h("span", {}, " Your edits were not saved; they are kept in this browser. Load the latest version: your edits are merged into it, and you choose where you both changed the same thing."),
      h("button", { class: "btn btn-primary", id: "conflict-reload", onclick: () => void ws.reloadFromServer(true) }, "Load latest and merge"));
  } else if (ws.saver.state === "error") {
    show("error", "banner-error", h("strong", {}, "Not saved: "), h("span", {}, ws.saver.message), h("button", { class: "btn", onclick: () => ws.store.undo() }, "Undo last edit"));
  } else if (!ws.canEdit && (ws.pano.edit_lock || ws.saver.state === "locked")) {
    const reopen = ["admin", "manager"].includes(ws.role) && ["submitted", "approved"].includes(ws.pano.status);
    show("locked", "banner-info banner-locked",
      h("strong", {}, ws.pano.status === "approved" ? "Approved — read-only." : "Submitted — read-only."),
      h("span", {}, ` ${ws.pano.edit_lock ?? ws.saver.message}`),
      stash ? h("span", { class: "muted" }, " Your unsaved edits are kept in this browser.") : null,
      reopen ? h("button", { class: "btn", id: "banner-reopen", onclick: () => void ws.review("reopen", true) }, "Reopen…") : null);
  } else if (stash && ws.canEdit) {
    show("stash", "banner-info",
      h("strong", {}, "You have edits that were not saved"),
      h("span", {}, ` (${stash.instances.length} instances, from ${new Date(stash.savedAt).toLocaleTimeString()}).`),
      h("button", { class: "btn btn-primary", id: "reapply-edits", onclick: () => void ws.reapplyStash() }, "Re-apply my edits"),
      h("button", { class: "btn", id: "discard-edits", onclick: () => discardStash(ws) }, "Discard"));
  } else {
    b.hidden = true;
    b.dataset.kind = "";
  }
}

function discardStash(ws: Workspace): void {
  clearStash(ws.pano.id);
  if (ws.saver.state === "stashed") ws.saver.set("saved");
  ws.renderBanner();
}

/** Load the server's set; with keepStash the local edits are stashed first and merged back in. */
export async function reloadFromServer(ws: Workspace, keepStash: boolean): Promise<void> {
  if (keepStash && ws.canEdit) ws.saver.stash();
  const data = await api<InstancesResponse>("GET", `/api/panoramas/${ws.pano.id}/instances/`);
  ws.saver.clearPending();
  ws.adopt(data);
  ws.saver.set(ws.canEdit ? "saved" : "readonly");
  ws.request();
  if (keepStash && ws.canEdit) await ws.reapplyStash();
}

/**
 * Merge the stashed edits into the current (latest) set: what only one side changed is merged by
 * itself; overlapping changes go to the dialog. The result is one undoable edit, which autosave
 * writes; cancelling leaves the edits in the stash.
 */
export async function reapplyStash(ws: Workspace): Promise<void> {
  const stash = readStash(ws.pano.id);
  if (!stash || !ws.canEdit) return;
  const plan = planMerge(ws.store.instances, ws.saver.serverIds, stash.instances, new Map(stash.serverIds), snapshotBase(stash));
  let choices = new Map<string, Side>();
  if (plan.conflicts.length) {
    const classOf = (id: number) => {
      const cls = ws.classes.byId(id);
      return { name: cls?.name ?? `class ${id}`, color: cls?.color ?? "#888888" };
    };
    const chosen = await chooseConflicts(plan, classOf);
    if (!chosen) {
      ws.renderSaveState();
      toast("Your edits stay in this browser; re-apply them when you are ready.");
      return;
    }
    choices = chosen;
  }
  const merged = resolveMerge(plan, choices);
  clearStash(ws.pano.id);
  ws.store.commit(merged);
  ws.renderBanner();
  const n = plan.conflicts.length;
  toast(n ? `Merged: ${n} overlapping change${n === 1 ? "" : "s"} decided by you, the rest merged by itself.` : "Your edits were merged with the latest version.");
}

/** Wait until the local set is on the server; false when it cannot be (conflict, error…). */
export async function flushSaves(ws: Workspace, timeoutMs = 15000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const st = ws.saver.state;
    if (st === "conflict" || st === "error" || st === "readonly" || st === "locked") return false;
    if (!ws.saver.dirty() && st !== "saving" && st !== "pending") return true;
    await ws.saver.save();
    await new Promise((r) => window.setTimeout(r, 80));
  }
  return false;
}

/** Switch the workspace between editing and read-only (the workflow state changed). */
export function setEditable(ws: Workspace, canEdit: boolean): void {
  if (canEdit === ws.canEdit) {
    ws.renderBanner();
    return;
  }
  ws.canEdit = canEdit;
  ws.saver.setEditable(canEdit);
  ws.instancesPanel.canEdit = canEdit;
  if (!canEdit) {
    ws.interactive = null;
    ws.renderBoxCard();
    if (ws.interaction.tool !== "pan") ws.interaction.setTool("pan");
  }
  ws.renderToolbar();
  ws.renderWorkflow();
  ws.renderSaveState();
  ws.refreshPanels();
  ws.request();
}

/** Adopt the panorama's workflow state (and what it allows the user) from the server. */
export function adoptPanorama(ws: Workspace, updated: Panorama): void {
  ws.pano = { ...ws.pano, status: updated.status, can_edit: updated.can_edit, edit_lock: updated.edit_lock ?? null };
  ws.renderStatus();
  setEditable(ws, updated.can_edit ?? ws.canEdit);
  ws.renderWorkflow();
  ws.renderBanner();
}

/** Ask the server who may edit now (after a save was refused because of the workflow state). */
export async function refreshEditability(ws: Workspace): Promise<void> {
  try {
    adoptPanorama(ws, await api<Panorama>("GET", `/api/panoramas/${ws.pano.id}/`));
    void ws.reviewPanel.load(ws.pano.status);
  } catch (err) {
    toast((err as Error).message, "error");
  }
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
  if (["admin", "manager"].includes(r) && ["submitted", "approved", "rejected"].includes(s)) buttons.push(act("reopen", "Reopen", "btn", true));
  ws.workflow.replaceChildren(...buttons);
}

const COMMENT_PROMPTS: Record<string, string> = {
  reject: "Reject: what needs fixing?",
  reopen: "Reopen: why does this need changes? (recorded in the history)",
  approve: "Approve — comment (optional)",
};

export async function review(ws: Workspace, action: string, needComment: boolean): Promise<void> {
  let comment = "";
  if (needComment || action === "approve") {
    const c = await askText(COMMENT_PROMPTS[action] ?? action, action === "reopen" ? "Reason" : "Comment", needComment);
    if (c === null) return;
    comment = c;
  }
  // edits go to the server before the state changes (approving can make them read-only)
  if (ws.canEdit && !(await ws.flushSaves())) {
    toast("Your edits are not saved yet (see the banner); try again after that.", "error");
    return;
  }
  try {
    const updated = await api<Panorama>("POST", `/api/panoramas/${ws.pano.id}/${action}/`, { comment });
    adoptPanorama(ws, updated);
    void ws.reviewPanel.load(updated.status);
    toast(`Panorama ${updated.status.replace("_", " ")}.`);
  } catch (err) {
    toast((err as Error).message, "error");
  }
}
