/** Small dependency-free SVG charts for the dashboard: a donut, horizontal bars, day columns and a
 * histogram. Colours come from the data or the theme's CSS variables. */

const NS = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

export interface Slice {
  label: string;
  value: number;
  color: string;
}

/** A donut of the slices with the total in the middle. */
export function donut(slices: Slice[], size = 180, centre = ""): SVGElement {
  const total = slices.reduce((s, x) => s + x.value, 0);
  const r = size / 2 - 10;
  const c = size / 2;
  const root = svg("svg", { width: size, height: size, viewBox: `0 0 ${size} ${size}`, class: "chart donut", role: "img" });
  root.appendChild(svg("circle", { cx: c, cy: c, r, fill: "none", stroke: "var(--panel2)", "stroke-width": 22 }));
  let angle = -Math.PI / 2;
  for (const s of slices) {
    if (!s.value || !total) continue;
    const sweep = (2 * Math.PI * s.value) / total;
    const title = svg("title", {}, `${s.label}: ${s.value}`);
    if (s.value === total) {
      root.appendChild(svg("circle", { cx: c, cy: c, r, fill: "none", stroke: s.color, "stroke-width": 22, "data-label": s.label }, title));
    } else {
      const a0 = angle;
      const a1 = angle + sweep;
      const large = sweep > Math.PI ? 1 : 0;
      const d = `M ${c + r * Math.cos(a0)} ${c + r * Math.sin(a0)} A ${r} ${r} 0 ${large} 1 ${c + r * Math.cos(a1)} ${c + r * Math.sin(a1)}`;
      root.appendChild(svg("path", { d, fill: "none", stroke: s.color, "stroke-width": 22, "data-label": s.label }, title));
    }
    angle += sweep;
  }
  root.appendChild(svg("text", { x: c, y: c - 2, "text-anchor": "middle", class: "chart-big" }, String(total)));
  if (centre) root.appendChild(svg("text", { x: c, y: c + 16, "text-anchor": "middle", class: "chart-small" }, centre));
  return root;
}

/** Horizontal bars, one row per item, labelled, with the value at the end. */
export function hbars(items: { label: string; value: number; color?: string; note?: string }[], opts: { width?: number; format?: (v: number) => string; max?: number } = {}): SVGElement {
  const width = opts.width ?? 460;
  const rowH = 24;
  const labelW = 130;
  const valueW = 90;
  const height = Math.max(rowH, items.length * rowH + 4);
  const max = opts.max ?? Math.max(1, ...items.map((i) => i.value));
  const fmt = opts.format ?? ((v: number) => String(v));
  const root = svg("svg", { width: "100%", height, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "xMinYMin meet", class: "chart hbars", role: "img" });
  items.forEach((item, k) => {
    const y = k * rowH + 2;
    const w = Math.max(item.value > 0 ? 2 : 0, ((width - labelW - valueW) * item.value) / max);
    const g = svg("g", { "data-label": item.label });
    g.appendChild(svg("text", { x: labelW - 8, y: y + 15, "text-anchor": "end", class: "chart-label" }, item.label.length > 18 ? `${item.label.slice(0, 17)}…` : item.label));
    g.appendChild(svg("rect", { x: labelW, y: y + 4, width: width - labelW - valueW, height: rowH - 10, rx: 3, fill: "var(--panel2)" }));
    g.appendChild(svg("rect", { x: labelW, y: y + 4, width: w, height: rowH - 10, rx: 3, fill: item.color ?? "var(--accent)" }, svg("title", {}, `${item.label}: ${fmt(item.value)}`)));
    g.appendChild(svg("text", { x: width - valueW + 8, y: y + 15, class: "chart-value" }, fmt(item.value) + (item.note ? ` ${item.note}` : "")));
    root.appendChild(g);
  });
  return root;
}

/** Columns over labelled slots (e.g. days), with a few x labels and the max on the y axis. */
export function columns(points: { label: string; value: number }[], opts: { width?: number; height?: number; format?: (v: number) => string; color?: string; every?: number } = {}): SVGElement {
  const width = opts.width ?? 560;
  const height = opts.height ?? 160;
  const bottom = 22;
  const left = 44;
  const max = Math.max(1e-9, ...points.map((p) => p.value));
  const fmt = opts.format ?? ((v: number) => String(Math.round(v)));
  const n = Math.max(1, points.length);
  const slot = (width - left) / n;
  const root = svg("svg", { width: "100%", height, viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "xMinYMin meet", class: "chart columns", role: "img" });
  root.appendChild(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, stroke: "var(--line)" }));
  root.appendChild(svg("text", { x: left - 6, y: 12, "text-anchor": "end", class: "chart-small" }, fmt(max)));
  root.appendChild(svg("text", { x: left - 6, y: height - bottom, "text-anchor": "end", class: "chart-small" }, "0"));
  const every = opts.every ?? Math.ceil(n / 6);
  points.forEach((p, k) => {
    const hgt = ((height - bottom - 6) * p.value) / max;
    const x = left + k * slot;
    root.appendChild(svg("rect", { x: x + slot * 0.15, y: height - bottom - hgt, width: slot * 0.7, height: hgt, rx: 2, fill: opts.color ?? "var(--accent)", "data-label": p.label }, svg("title", {}, `${p.label}: ${fmt(p.value)}`)));
    if (k % every === 0 || k === n - 1) root.appendChild(svg("text", { x: x + slot / 2, y: height - 6, "text-anchor": "middle", class: "chart-small" }, p.label));
  });
  return root;
}

/** Histogram of values in ``bins`` equal bins from 0 to the largest value. */
export function histogram(values: number[], bins = 10, opts: { format?: (v: number) => string; color?: string } = {}): SVGElement {
  const max = Math.max(1e-9, ...values);
  const width = max / bins;
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))] += 1;
  const fmt = opts.format ?? ((v: number) => v.toFixed(0));
  return columns(counts.map((c, k) => ({ label: `${fmt(k * width)}–${fmt((k + 1) * width)}`, value: c })), { color: opts.color ?? "var(--ok)", every: Math.ceil(bins / 4) });
}
