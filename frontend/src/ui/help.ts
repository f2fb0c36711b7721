/** Help overlay listing the keyboard shortcuts. */
import { h } from "./dom";

const SHORTCUTS: [string, string][] = [
  ["D", "Draw polygon tool"],
  ["E", "Edit tool: select, drag vertices, click an edge to insert a vertex"],
  ["V", "Pan tool (drag to look around; right-drag works in every tool)"],
  ["Click", "Place a vertex (draw) / select an instance (edit)"],
  ["Click first vertex · Double-click · Enter", "Close the polygon"],
  ["Esc", "Cancel the polygon being drawn / clear the selection"],
  ["Backspace", "Remove the last vertex while drawing; else delete the selected vertex"],
  ["Delete", "Delete the selected vertex, else the selected instance"],
  ["O", "Ellipse tool (round things: wheels, manholes, signs, lamps): click the two ends of its long axis, then one more point of its outline"],
  ["R", "Rectangle tool (upright things seen square-on: doors, windows, signs, façades): click two opposite corners; the sides follow the world's verticals"],
  ["A", "Add a part to the selected instance"],
  ["B", "Box AI tool: drag a box around an object → model suggestion; click inside: + point, Shift/right-click: − point"],
  ["Enter · Esc", "Box AI: accept / discard the suggestion"],
  ["S", "Surface cursor on / off (when the panorama has a depth map)"],
  ["1 – 9 · a class's own key", "Pick a class (changes the selected instance's class); keys are set on the project's Settings page"],
  ["T", "Pick a class by typing part of its name (↑/↓, Enter)"],
  ["H", "Hide / show the selected instance"],
  ["Shift+H", "Hide all the other instances / show all again"],
  ["F", "Zoom to fit the selected instance (turns the camera and narrows the FOV)"],
  ["L", "Lock / unlock the selected instance (locked: clicks pass through, no moving or deleting)"],
  ["/", "Search the instances (class, #number, attribute value)"],
  ["X", "Keyboard crosshair on / off: arrows move it (Shift: faster), Space places a vertex, Enter closes"],
  ["Ctrl+Z / Ctrl+Shift+Z", "Undo / redo (every edit)"],
  ["Wheel · + / −", "Zoom (field of view 20°–140°)"],
  ["Arrow keys", "Look around"],
  ["N / C", "NFOV mode / cubemap mode"],
  ["[ / ]", "Previous / next panorama"],
  ["?", "This help"],
];

export function helpOverlay(): void {
  if (document.getElementById("help-overlay")) return;
  const close = () => overlay.remove();
  const overlay = h("div", { class: "modal-backdrop", id: "help-overlay", onclick: (e: Event) => e.target === overlay && close() },
    h("div", { class: "modal modal-wide" },
      h("h3", {}, "Keyboard shortcuts"),
      h("table", { class: "shortcuts" }, ...SHORTCUTS.map(([k, d]) => h("tr", {}, h("td", {}, ...k.split(" · ").map((x) => h("kbd", {}, x))), h("td", {}, d)))),
      h("p", { class: "muted" }, "Vertices live on the sphere: a polygon may cross a cube-face border or the ±180° seam and stays one instance. Edits save automatically."),
      h("div", { class: "modal-actions" }, h("button", { class: "btn btn-primary", onclick: close }, "Close"))));
  document.body.appendChild(overlay);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === "Escape" || e.key === "?") {
      close();
      document.removeEventListener("keydown", onKey, true);
      e.stopPropagation();
    }
  };
  document.addEventListener("keydown", onKey, true);
}
