/** Keyboard shortcuts and previous/next panorama navigation. */
import { apiAll } from "../api";
import { toast } from "../ui/dom";
import { helpOverlay } from "../ui/help";
import type { Workspace } from "./core";

export function onKey(ws: Workspace, e: KeyboardEvent): void {
  const target = e.target as HTMLElement;
  if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
  const it = ws.interaction;
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key;
  if (mod && (key === "z" || key === "Z")) {
    e.preventDefault();
    if (!ws.canEdit) return;
    if (e.shiftKey) ws.store.redo();
    else ws.store.undo();
    return;
  }
  if (mod && (key === "y" || key === "Y")) {
    e.preventDefault();
    if (ws.canEdit) ws.store.redo();
    return;
  }
  if (mod) return;
  switch (key) {
    case "Enter":
      if (!it.draft.length && ws.acceptInteractive()) break;
      it.finish();
      break;
    case "Escape":
      if (!it.draft.length && ws.discardInteractive()) break;
      if (it.draft.length) it.cancel();
      else ws.store.select(null);
      ws.renderToolbar();
      break;
    case "Backspace":
      e.preventDefault();
      if (!it.removeLastDraftVertex()) it.deleteSelection();
      break;
    case "Delete":
      it.deleteSelection();
      break;
    case "d":
    case "D":
      if (ws.canEdit) ws.setTool("draw");
      break;
    case "e":
    case "E":
      if (ws.canEdit) ws.setTool("edit");
      break;
    case "v":
    case "V":
      ws.setTool("pan");
      break;
    case "b":
    case "B":
      if (ws.canEdit) ws.setTool("box");
      break;
    case "a":
    case "A":
      if (ws.canEdit) ws.startAddPart();
      break;
    case "c":
    case "C":
      ws.setMode("cubemap");
      break;
    case "n":
    case "N":
      ws.setMode("nfov");
      break;
    case "s":
    case "S":
      ws.toggleSurfaceCursor();
      break;
    case "h":
    case "H":
      if (ws.store.selected) ws.store.toggleHidden(ws.store.selected);
      break;
    case "+":
    case "=":
      ws.zoom(1 / 1.15);
      break;
    case "-":
      ws.zoom(1.15);
      break;
    case "ArrowLeft":
      ws.look(40, 0);
      break;
    case "ArrowRight":
      ws.look(-40, 0);
      break;
    case "ArrowUp":
      ws.look(0, 40);
      break;
    case "ArrowDown":
      ws.look(0, -40);
      break;
    case "[":
      void ws.navigate(-1);
      break;
    case "]":
      void ws.navigate(1);
      break;
    case "?":
      helpOverlay();
      break;
    default:
      if (/^[1-9]$/.test(key)) {
        const cls = ws.classes.classes[Number(key) - 1];
        if (!cls) break;
        if (ws.store.selected && ws.canEdit && !it.draft.length) ws.store.update(ws.store.selected, { label_class: cls.id });
        ws.classes.select(cls.id);
      }
  }
}

export async function navigate(ws: Workspace, delta: number): Promise<void> {
  const query = sessionStorage.getItem(`label360:nav:${ws.pano.project}`) || "";
  try {
    const list = await apiAll<{ id: number }>(`/api/panoramas/?project=${ws.pano.project}&page_size=1000${query ? `&${query}` : ""}`);
    let i = list.findIndex((p) => p.id === ws.pano.id);
    if (i < 0) i = delta > 0 ? -1 : list.length;
    const target = list[i + delta];
    if (!target) {
      toast(delta > 0 ? "This is the last panorama of the list." : "This is the first panorama of the list.");
      return;
    }
    await ws.saver.save();
    window.location.href = `/panoramas/${target.id}/`;
  } catch (err) {
    toast((err as Error).message, "error");
  }
}
