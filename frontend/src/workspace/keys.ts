/** Keyboard shortcuts (tools, classes by shortcut or type-to-filter, fit, lock, hide, search,
 * keyboard crosshair drawing) and previous/next panorama navigation. */
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
  // the keyboard crosshair takes the arrows and Space while it is on
  if (it.crosshair && ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", " "].includes(key)) {
    e.preventDefault();
    const step = e.shiftKey ? 20 : 2;
    if (key === " ") it.placeAtCrosshair();
    else it.moveCrosshair(key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0, key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0);
    return;
  }
  const selected = ws.store.selected ? ws.store.get(ws.store.selected) : undefined;
  switch (key) {
    case "f":
    case "F":
      if (selected) ws.fitInstance(selected);
      break;
    case "l":
    case "L":
      if (selected) ws.store.toggleLocked(selected.uid);
      break;
    case "x":
    case "X":
      it.toggleCrosshair();
      break;
    case "t":
    case "T":
      e.preventDefault();
      ws.classes.openPicker(ws.stage, (cls) => pickClass(ws, cls.id));
      break;
    case "/":
      e.preventDefault();
      ws.instancesPanel.search.focus();
      break;
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
    case "o":
    case "O":
      if (ws.canEdit) ws.setTool("ellipse");
      break;
    case "r":
    case "R":
      if (ws.canEdit) ws.setTool("rect");
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
      if (!ws.store.selected) break;
      if (e.shiftKey) ws.store.soloToggle(ws.store.selected);
      else ws.store.toggleHidden(ws.store.selected);
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
    default: {
      // a class's own shortcut, else 1–9 by position
      const cls = key.length === 1 ? ws.classes.byKey(key) : undefined;
      if (cls) pickClass(ws, cls.id);
    }
  }
}

/** Make ``classId`` the class for new polygons, and the selected instance's class. */
function pickClass(ws: Workspace, classId: number): void {
  const sel = ws.store.selected;
  if (sel && ws.canEdit && !ws.interaction.draft.length && !ws.store.locked.has(sel)) ws.store.update(sel, { label_class: classId });
  ws.classes.select(classId);
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
