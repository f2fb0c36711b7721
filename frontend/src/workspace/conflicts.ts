/**
 * The merge dialog after a save conflict: every field that both people changed differently (and
 * every change against a deletion) is shown side by side — theirs / mine — and the user picks one
 * for each. Nothing is applied until every conflict has a choice; cancelling keeps the edits in the
 * stash.
 */
import type { Conflict, MergePlan, Side } from "../merge";
import type { Geometry } from "../sphere";
import type { Inst } from "../store";
import { vertexCount } from "../store";
import { h } from "../ui/dom";

export interface ClassInfo {
  name: string;
  color: string;
}

const KIND_LABELS: Record<Conflict["kind"], string> = {
  geometry: "Shape",
  label_class: "Class",
  is_suggestion: "Suggestion / accepted",
  attribute: "Attribute",
  deleted: "Deleted on one side",
};

/** A small outline of the geometry on the equirectangular plane (longitudes unwrapped around its first vertex). */
export function outlineSvg(geometry: Geometry, color: string, size = 96): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("class", "merge-outline");
  const ref = geometry[0]?.[0]?.[0]?.[0] ?? 0;
  const unwrap = (lon: number) => lon + 360 * Math.round((ref - lon) / 360);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const poly of geometry)
    for (const ring of poly)
      for (const [lon, lat] of ring) {
        const x = unwrap(lon);
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, -lat); y1 = Math.max(y1, -lat);
      }
  const span = Math.max(x1 - x0, y1 - y0, 1e-9);
  const scale = (size - 8) / span;
  const d: string[] = [];
  for (const poly of geometry)
    for (const ring of poly)
      d.push(ring.map(([lon, lat], k) => `${k ? "L" : "M"}${(4 + (unwrap(lon) - x0) * scale).toFixed(1)},${(4 + (-lat - y0) * scale).toFixed(1)}`).join("") + "Z");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d.join(""));
  path.setAttribute("fill", `${color}55`);
  path.setAttribute("stroke", color);
  path.setAttribute("fill-rule", "evenodd");
  svg.appendChild(path);
  return svg;
}

function describe(conflict: Conflict, side: Side, classOf: (id: number) => ClassInfo): HTMLElement {
  const inst: Inst | null = side === "theirs" ? conflict.theirs : conflict.mine;
  if (!inst) return h("div", { class: "merge-value merge-deleted" }, side === "theirs" ? "They deleted it" : "I deleted it");
  const cls = classOf(inst.label_class);
  switch (conflict.kind) {
    case "geometry":
      return h("div", { class: "merge-value" }, outlineSvg(inst.geometry, cls.color), h("span", { class: "muted" }, `${vertexCount(inst.geometry)} vertices`));
    case "label_class":
      return h("div", { class: "merge-value" }, h("i", { class: "swatch", style: { background: cls.color } }), cls.name);
    case "is_suggestion":
      return h("div", { class: "merge-value" }, inst.is_suggestion ? "Suggestion (not accepted)" : "Accepted");
    case "attribute": {
      const value = inst.attributes?.[conflict.attribute ?? ""];
      return h("div", { class: "merge-value" }, value === undefined ? "(not set)" : JSON.stringify(value));
    }
    default:
      return h("div", { class: "merge-value" }, outlineSvg(inst.geometry, cls.color, 64), `${cls.name}, ${side === "theirs" ? "changed by them" : "changed by me"}`);
  }
}

/** Show the dialog; resolves with a choice per conflict key, or null when cancelled. */
export function chooseConflicts(plan: MergePlan, classOf: (id: number) => ClassInfo): Promise<Map<string, Side> | null> {
  return new Promise((resolve) => {
    const choices = new Map<string, Side>();
    const apply = h("button", { class: "btn btn-primary", id: "merge-apply", disabled: true, onclick: () => done(choices) }, "Apply");
    const count = h("span", { class: "muted", id: "merge-count" });
    const rows = plan.conflicts.map((c) => {
      const cls = classOf((c.theirs ?? c.mine)!.label_class);
      const option = (side: Side) =>
        h("button", {
          class: "merge-option",
          "data-side": side,
          "data-key": c.key,
          onclick: () => {
            choices.set(c.key, side);
            for (const b of row.querySelectorAll<HTMLElement>(".merge-option")) b.classList.toggle("chosen", b.dataset.side === side);
            update();
          },
        }, h("strong", {}, side === "theirs" ? "Theirs" : "Mine"), describe(c, side, classOf));
      const row = h("div", { class: "merge-row", "data-key": c.key, "data-kind": c.kind },
        h("div", { class: "merge-what" }, h("strong", {}, `${cls.name} #${c.id}`), h("span", { class: "muted" }, ` · ${KIND_LABELS[c.kind]}${c.attribute ? ` “${c.attribute}”` : ""}`)),
        h("div", { class: "merge-sides" }, option("theirs"), option("mine")));
      return row;
    });
    const all = (side: Side) => {
      for (const c of plan.conflicts) choices.set(c.key, side);
      for (const b of overlay.querySelectorAll<HTMLElement>(".merge-option")) b.classList.toggle("chosen", b.dataset.side === side);
      update();
    };
    const update = () => {
      const left = plan.conflicts.length - choices.size;
      apply.disabled = left > 0;
      count.textContent = left ? `${left} to decide` : "All decided";
    };
    const done = (value: Map<string, Side> | null) => {
      overlay.remove();
      resolve(value);
    };
    const s = plan.summary;
    const overlay = h("div", { class: "modal-backdrop", id: "merge-dialog" },
      h("div", { class: "modal modal-wide merge-modal" },
        h("h3", {}, "Both of you changed the same things"),
        h("p", { class: "muted" }, `Your other edits (${s.mineAdded} new, ${s.mineChanged} changed, ${s.mineDeleted} deleted) merge with theirs by themselves. Pick a side for each of these:`),
        h("div", { class: "merge-list" }, ...rows),
        h("div", { class: "modal-actions" },
          count,
          h("span", { class: "grow" }),
          h("button", { class: "btn", id: "merge-all-theirs", onclick: () => all("theirs") }, "All theirs"),
          h("button", { class: "btn", id: "merge-all-mine", onclick: () => all("mine") }, "All mine"),
          h("button", { class: "btn", id: "merge-cancel", onclick: () => done(null) }, "Not now"),
          apply)));
    update();
    document.body.appendChild(overlay);
  });
}
