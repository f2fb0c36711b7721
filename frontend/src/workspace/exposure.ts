/**
 * Exposure and tone mapping for HDR panoramas in the workspace: an upload stored as radiance
 * (Radiance HDR / OpenEXR) or the radiance the "Recover HDR / re-expose…" job rebuilt from an
 * 8-bit panorama (GET /api/reexpose/ID/ says which). Annotators can darken a bright sky or
 * lift a dark interior: an EV slider (−4…+4) and a tone-mapping choice.
 *
 * The radiance comes once as float16 (GET /api/reexpose/ID/radiance/); exposure and tone
 * mapping run here, so moving the slider costs no request. The result is drawn over the
 * server's display imagery (renderer level −1, above the preview and the full-resolution
 * tiles); "Default" removes it again. The choice is the user's (localStorage, keyed by user
 * name), never stored with the panorama.
 */
import { h, toast } from "../ui/dom";
import type { Workspace } from "./core";

export const TONEMAPS = ["default", "clip", "reinhard", "filmic"] as const;
export type Tonemap = (typeof TONEMAPS)[number];
const TONEMAP_LABELS: Record<Tonemap, string> = {
  default: "Default view",
  clip: "Clip (camera)",
  reinhard: "Reinhard",
  filmic: "Filmic (ACES)",
};
export const EV_MIN = -4;
export const EV_MAX = 4;
/** Widest radiance fetched (the renderer's texture limit, as the display tiles). */
const MAX_WIDTH = 4096;
/** The side viewers (equirect, cubemap) read at most this width. */
const SIDE_WIDTH = 1024;
/** Renderer level of the re-exposed image: drawn after (over) the preview (1) and tiles (0). */
const LEVEL = -1;

export interface ExposurePrefs {
  ev: number;
  tonemap: Tonemap;
}

interface RadianceInfo {
  stored: boolean;
  recovered: number | null;
  source: "stored" | "recovered" | null;
}

interface Radiance {
  width: number;
  height: number;
  half: Uint16Array; // float16 RGB
  key: number; // median luminance: EV 0 puts it at mid-grey
}

const storageKey = (ws: Workspace) => `label360:exposure:${ws.ctx.username}`;

export function readPrefs(ws: Workspace): ExposurePrefs {
  try {
    const raw = JSON.parse(localStorage.getItem(storageKey(ws)) || "{}");
    const ev = Number(raw.ev);
    const tonemap = TONEMAPS.includes(raw.tonemap) ? (raw.tonemap as Tonemap) : "default";
    return { ev: Number.isFinite(ev) ? Math.min(EV_MAX, Math.max(EV_MIN, ev)) : 0, tonemap };
  } catch {
    return { ev: 0, tonemap: "default" };
  }
}

function writePrefs(ws: Workspace, prefs: ExposurePrefs): void {
  localStorage.setItem(storageKey(ws), JSON.stringify(prefs));
}

/** float16 bits → float32, as a table (64 K entries). */
let HALF: Float32Array | null = null;
function halfTable(): Float32Array {
  if (HALF) return HALF;
  HALF = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) {
    const exp = (i >> 10) & 0x1f;
    const frac = i & 0x3ff;
    const sign = i & 0x8000 ? -1 : 1;
    HALF[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return HALF;
}

/** Linear [0, 1] → 8-bit sRGB, sampled finely enough for 8-bit output. */
const SRGB_STEPS = 4096;
let SRGB: Uint8ClampedArray | null = null;
function srgbTable(): Uint8ClampedArray {
  if (SRGB) return SRGB;
  SRGB = new Uint8ClampedArray(SRGB_STEPS + 1);
  for (let i = 0; i <= SRGB_STEPS; i++) {
    const x = i / SRGB_STEPS;
    SRGB[i] = Math.round(255 * (x <= 0.0031308 ? 12.92 * x : 1.055 * x ** (1 / 2.4) - 0.055));
  }
  return SRGB;
}

/** One tone-mapping curve on linear values (already exposed); results in [0, 1]. */
function curve(tonemap: Tonemap): (x: number) => number {
  if (tonemap === "filmic") return (x) => Math.min(1, Math.max(0, (x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14)));
  return (x) => Math.min(1, Math.max(0, x)); // clip; Reinhard works on luminance below
}

/** Re-expose `rad` by `ev` stops and tone-map it into RGBA pixels (`out`: width × height × 4). */
export function toneMap(rad: Radiance, ev: number, tonemap: Tonemap, out: Uint8ClampedArray, step = 1): void {
  const table = halfTable();
  const srgb = srgbTable();
  const gain = (0.18 / Math.max(rad.key, 1e-9)) * 2 ** ev;
  const f = curve(tonemap);
  const w = rad.width;
  const ow = Math.floor(w / step);
  const oh = Math.floor(rad.height / step);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    let i = y * step * w * 3;
    for (let x = 0; x < ow; x++, i += 3 * step, o += 4) {
      let r = table[rad.half[i]] * gain;
      let g = table[rad.half[i + 1]] * gain;
      let b = table[rad.half[i + 2]] * gain;
      if (!(r >= 0)) r = 0; // NaN and negatives
      if (!(g >= 0)) g = 0;
      if (!(b >= 0)) b = 0;
      if (tonemap === "reinhard") {
        const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        const s = 1 / (1 + lum);
        r *= s;
        g *= s;
        b *= s;
      }
      out[o] = srgb[(f(r) * SRGB_STEPS) | 0];
      out[o + 1] = srgb[(f(g) * SRGB_STEPS) | 0];
      out[o + 2] = srgb[(f(b) * SRGB_STEPS) | 0];
      out[o + 3] = 255;
    }
  }
}

async function fetchRadiance(ws: Workspace, source: string): Promise<Radiance> {
  const width = Math.max(16, Math.min(MAX_WIDTH, ws.pano.width - (ws.pano.width % 2)));
  const response = await fetch(`/api/reexpose/${ws.pano.id}/radiance/?source=${source}&width=${width}`, { credentials: "same-origin" });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new Error(detail);
  }
  const w = Number(response.headers.get("X-Width"));
  const hgt = Number(response.headers.get("X-Height"));
  const half = new Uint16Array(await response.arrayBuffer()); // the browser inflated the gzip
  if (half.length !== w * hgt * 3) throw new Error("radiance of an unexpected size");
  // the key: median luminance of a sample (every 7th pixel)
  const table = halfTable();
  const lums: number[] = [];
  for (let i = 0; i < half.length; i += 21) {
    const l = 0.2126 * table[half[i]] + 0.7152 * table[half[i + 1]] + 0.0722 * table[half[i + 2]];
    if (l > 0 && Number.isFinite(l)) lums.push(l);
  }
  lums.sort((a, b) => a - b);
  return { width: w, height: hgt, half, key: lums.length ? lums[lums.length >> 1] : 1 };
}

interface State {
  info: RadianceInfo;
  prefs: ExposurePrefs;
  radiance: Promise<Radiance> | null;
  canvas: HTMLCanvasElement;
  shown: boolean;
  pending: number;
  original: HTMLImageElement | null;
  bar: HTMLElement;
  value: HTMLElement;
}

/** Show the exposure control when the panorama has radiance, and apply the user's choice. */
export async function installExposure(ws: Workspace, preview: Promise<HTMLImageElement>): Promise<void> {
  let info: RadianceInfo;
  try {
    const response = await fetch(`/api/reexpose/${ws.pano.id}/`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return; // no control for panoramas the module cannot describe
    info = (await response.json()) as RadianceInfo;
  } catch {
    return;
  }
  if (!info.source) return;
  const st: State = {
    info,
    prefs: readPrefs(ws),
    radiance: null,
    canvas: document.createElement("canvas"),
    shown: false,
    pending: 0,
    original: null,
    bar: h("div", { class: "exposure-bar", id: "exposure-bar" }),
    value: h("span", { class: "exposure-value", id: "exposure-value" }),
  };
  preview.then((img) => (st.original = img)).catch(() => undefined);
  const slider = h("input", { type: "range", id: "exposure-ev", min: String(EV_MIN), max: String(EV_MAX), step: "0.5", value: String(st.prefs.ev), title: "Exposure in stops (EV)", "aria-label": "Exposure (EV)" });
  // right from the start (not a frame later): with the default view there is no EV to set
  (slider as HTMLInputElement).disabled = st.prefs.tonemap === "default";
  const select = h("select", { id: "exposure-tonemap", class: "image-select", title: "Tone mapping of the radiance" }, ...TONEMAPS.map((t) => h("option", { value: t }, TONEMAP_LABELS[t])));
  select.value = st.prefs.tonemap;
  const label = info.source === "stored" ? "HDR" : "Recovered HDR";
  st.bar.replaceChildren(h("span", { class: "exposure-label", title: info.source === "stored" ? "The upload is HDR radiance" : `Radiance recovered by the re-expose job (asset ${info.recovered})` }, label), select, slider, st.value);
  ws.stage.appendChild(st.bar);
  const changed = () => {
    st.prefs = { ev: Number(slider.value), tonemap: select.value as Tonemap };
    writePrefs(ws, st.prefs);
    schedule(ws, st);
  };
  slider.addEventListener("input", changed);
  select.addEventListener("change", changed);
  // the bar's keys are not the workspace's shortcuts (arrows move the slider, not the camera)
  st.bar.addEventListener("keydown", (e) => e.stopPropagation());
  schedule(ws, st);
}

/** Apply the current choice once per animation frame (slider drags send many events). */
function schedule(ws: Workspace, st: State): void {
  if (st.pending) return;
  st.pending = requestAnimationFrame(() => {
    st.pending = 0;
    void apply(ws, st);
  });
}

async function apply(ws: Workspace, st: State): Promise<void> {
  const { ev, tonemap } = st.prefs;
  st.value.textContent = tonemap === "default" ? "" : `${ev > 0 ? "+" : ""}${ev.toFixed(1)} EV`;
  (st.bar.querySelector("#exposure-ev") as HTMLInputElement).disabled = tonemap === "default";
  st.bar.dataset.tonemap = tonemap;
  if (tonemap === "default") {
    if (st.shown) {
      st.shown = false;
      ws.renderer?.dropLevel(LEVEL);
      if (st.original) {
        ws.equirect.setImage(st.original);
        ws.cubemap.setImage(st.original);
      }
      ws.request(true);
    }
    st.bar.dataset.state = "ready";
    return;
  }
  st.bar.dataset.state = "loading";
  let rad: Radiance;
  try {
    st.radiance ??= fetchRadiance(ws, st.info.source!);
    rad = await st.radiance;
  } catch (err) {
    st.radiance = null;
    st.bar.dataset.state = "error";
    toast(`Could not load the HDR radiance: ${(err as Error).message}`, "error");
    return;
  }
  if (st.prefs.ev !== ev || st.prefs.tonemap !== tonemap) return; // a newer choice is on its way
  const t0 = performance.now();
  const canvas = st.canvas;
  canvas.width = rad.width;
  canvas.height = rad.height;
  const ctx = canvas.getContext("2d")!;
  const pixels = ctx.createImageData(rad.width, rad.height);
  toneMap(rad, ev, tonemap, pixels.data);
  ctx.putImageData(pixels, 0, 0);
  const r = ws.renderer;
  if (r) {
    r.dropLevel(LEVEL);
    r.addTile(canvas, [0, 0, 1, 1], LEVEL);
  }
  // the side viewers read an <img> of at most 1024 px
  const step = Math.max(1, Math.floor(rad.width / SIDE_WIDTH));
  const small = document.createElement("canvas");
  small.width = Math.floor(rad.width / step);
  small.height = Math.floor(rad.height / step);
  const sctx = small.getContext("2d")!;
  const sp = sctx.createImageData(small.width, small.height);
  toneMap(rad, ev, tonemap, sp.data, step);
  sctx.putImageData(sp, 0, 0);
  const img = new Image();
  img.src = small.toDataURL("image/jpeg", 0.9);
  await img.decode().catch(() => undefined);
  if (st.prefs.ev !== ev || st.prefs.tonemap !== tonemap) return;
  ws.equirect.setImage(img);
  ws.cubemap.setImage(img);
  st.shown = true;
  ws.stage.dataset.exposure = `${tonemap}:${ev}`;
  ws.marks.exposureMs = performance.now() - t0;
  st.bar.dataset.state = "ready";
  ws.request(true);
}
