/**
 * The always-visible equirectangular viewer: the panorama, every instance with its great-circle
 * edges drawn as the curves they are (densified on the sphere, unwrapped across the ±180° seam and
 * drawn at −360/0/+360 so nothing wraps; rings around a pole are closed through it), and the
 * footprint of the current camera. Clicking turns the camera there.
 */
import { EquirectPath, Geometry, LonLat, View, equirectPath, interpolateArc, vecToLonlat } from "../sphere";
import type { Inst } from "../store";
import { hexToRgba } from "../render/overlay";

const pathCache = new WeakMap<Geometry, EquirectPath[][]>();

/** What changes while drawing or dragging, drawn over the cached layer every frame. */
export interface LiveEdit {
  /** The polygon being drawn, the mouse position (rubber band) and its class colour. */
  draft: LonLat[];
  cursor: LonLat | null;
  color: string;
  /** The geometry of the instance whose vertex is being dragged. */
  preview: Geometry | null;
  /** A refused edge (it would have crossed the outline). */
  invalid: [LonLat, LonLat] | null;
}

function pathsOf(geometry: Geometry): EquirectPath[][] {
  let p = pathCache.get(geometry);
  if (!p) {
    p = geometry.map((poly) => poly.map((ring) => equirectPath(ring, 1.5)));
    pathCache.set(geometry, p);
  }
  return p;
}

interface InstancePaths {
  fill: Path2D;
  line: Path2D;
  dashed: Path2D;
}

function newInstancePaths(): InstancePaths {
  return { fill: new Path2D(), line: new Path2D(), dashed: new Path2D() };
}

/** Fill (translucent, even-odd), outline, and suggestions' dashed outline in one colour. */
function paintInstancePaths(ctx: CanvasRenderingContext2D, g: InstancePaths, color: string): void {
  ctx.fillStyle = hexToRgba(color, 0.3);
  ctx.fill(g.fill, "evenodd");
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  ctx.stroke(g.line);
  ctx.setLineDash([4, 3]);
  ctx.stroke(g.dashed);
  ctx.setLineDash([]);
}

export class EquirectViewer {
  readonly canvas: HTMLCanvasElement;
  private layer: HTMLCanvasElement; // cached instance layer
  private image: CanvasImageSource | null = null;
  private depthImage: HTMLCanvasElement | null = null;
  /** What the viewer shows under the instances: the colour panorama or the colourised depth. */
  mode: "color" | "depth" = "color";
  private layerValid = false;
  width = 0;
  height = 0;
  onPick: ((lon: number, lat: number) => void) | null = null;

  constructor(readonly host: HTMLElement) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "equirect-canvas";
    this.canvas.dataset.mode = "color";
    host.appendChild(this.canvas);
    this.layer = document.createElement("canvas");
    this.canvas.addEventListener("click", (e) => {
      const r = this.canvas.getBoundingClientRect();
      const lon = ((e.clientX - r.left) / r.width) * 360 - 180;
      const lat = 90 - ((e.clientY - r.top) / r.height) * 180;
      this.onPick?.(lon, lat);
    });
  }

  setImage(img: CanvasImageSource): void {
    this.image = img;
    this.layerValid = false;
  }

  /** The colourised depth (any resolution; drawn stretched to the viewer). */
  setDepthImage(data: ImageData): void {
    const c = document.createElement("canvas");
    c.width = data.width;
    c.height = data.height;
    c.getContext("2d")!.putImageData(data, 0, 0);
    this.depthImage = c;
    this.layerValid = false;
  }

  hasDepth(): boolean {
    return this.depthImage !== null;
  }

  setMode(mode: "color" | "depth"): void {
    if (mode === "depth" && !this.depthImage) return;
    this.mode = mode;
    this.canvas.dataset.mode = mode;
    this.layerValid = false;
  }

  invalidate(): void {
    this.layerValid = false;
  }

  resize(): boolean {
    const w = Math.max(100, Math.floor(this.host.clientWidth));
    const h = Math.floor(w / 2);
    if (w === this.width && h === this.height) return false;
    const dpr = window.devicePixelRatio || 1;
    this.width = w;
    this.height = h;
    for (const c of [this.canvas, this.layer]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    this.layerValid = false;
    return true;
  }

  /** The instances under everything else, without the selection (selecting redraws nothing
   *  here: the selected instance is drawn over this layer by draw()). */
  private renderLayer(instances: Inst[], colors: Map<number, string>, hidden: Set<string>): void {
    const ctx = this.layer.getContext("2d")!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    const base = this.mode === "depth" && this.depthImage ? this.depthImage : this.image;
    if (base) {
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(base, 0, 0, this.width, this.height);
    }
    else {
      ctx.fillStyle = "#1b1f27";
      ctx.fillRect(0, 0, this.width, this.height);
    }
    const groups = new Map<string, InstancePaths>();
    for (const inst of instances) {
      if (hidden.has(inst.uid)) continue;
      const color = colors.get(inst.label_class) ?? "#cccccc";
      let g = groups.get(color);
      if (!g) groups.set(color, (g = newInstancePaths()));
      this.addInstance(g, inst);
    }
    for (const [color, g] of groups) paintInstancePaths(ctx, g, color);
    this.layerValid = true;
  }

  /** The rings of one instance, in equirect pixels, at every longitude offset they show at. */
  private addInstance(g: InstancePaths, inst: Inst): void {
    const sx = this.width / 360;
    const sy = this.height / 180;
    const X = (lon: number) => (lon + 180) * sx;
    const Y = (lat: number) => (90 - lat) * sy;
    const line = inst.is_suggestion ? g.dashed : g.line;
    for (const poly of pathsOf(inst.geometry)) {
      for (const ring of poly) {
        const ll = ring.lonlat;
        const offsets = [0];
        if (ring.minLon < -180) offsets.push(360);
        if (ring.maxLon >= 180) offsets.push(-360);
        if (ring.pole) offsets.push(360, -360);
        for (const off of offsets) {
          line.moveTo(X(ll[0] + off), Y(ll[1]));
          g.fill.moveTo(X(ll[0] + off), Y(ll[1]));
          for (let i = 2; i < ll.length; i += 2) {
            line.lineTo(X(ll[i] + off), Y(ll[i + 1]));
            g.fill.lineTo(X(ll[i] + off), Y(ll[i + 1]));
          }
          if (ring.pole) {
            // close through the pole: down/up the last meridian, along the pole, back
            const lastLon = ll[ll.length - 2] + off;
            let firstLon = ll[0] + off;
            while (firstLon - lastLon > 180) firstLon -= 360;
            while (firstLon - lastLon < -180) firstLon += 360;
            const poleLat = ring.pole > 0 ? 90 : -90;
            line.lineTo(X(firstLon), Y(ll[1]));
            g.fill.lineTo(X(firstLon), Y(ll[1]));
            g.fill.lineTo(X(firstLon), Y(poleLat));
            g.fill.lineTo(X(ll[0] + off), Y(poleLat));
          } else {
            line.lineTo(X(ll[0] + off), Y(ll[1]));
          }
          // no closePath(): a fill closes sub-paths itself, and Chromium's closePath measures
          // the whole path each time (quadratic in the instances of a class)
        }
      }
    }
  }

  draw(instances: Inst[], colors: Map<number, string>, hidden: Set<string>, selected: string | null, view: View | null, live: LiveEdit | null = null): void {
    if (!this.layerValid) this.renderLayer(instances, colors, hidden);
    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.layer, 0, 0);
    const chosen = selected === null || hidden.has(selected) ? undefined : instances.find((i) => i.uid === selected);
    if (chosen) {
      ctx.setTransform(window.devicePixelRatio || 1, 0, 0, window.devicePixelRatio || 1, 0, 0);
      const g = newInstancePaths();
      this.addInstance(g, chosen);
      paintInstancePaths(ctx, g, "#ffffff");
    }
    if (view) this.drawFootprint(ctx, view);
    if (live) this.drawLive(ctx, live);
  }

  /** The draft (with its rubber band), a dragged instance and a refused edge, live. */
  private drawLive(ctx: CanvasRenderingContext2D, live: LiveEdit): void {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sx = this.width / 360;
    const sy = this.height / 180;
    // an open polyline of great-circle arcs, unwrapped and drawn at −360/0/+360
    const polyline = (points: LonLat[], color: string, dash: number[], width: number) => {
      if (points.length < 2) return;
      const dense: LonLat[] = [];
      for (let i = 0; i + 1 < points.length; i++) {
        const arc = interpolateArc(points[i], points[i + 1], 1.5);
        dense.push(...(i ? arc.slice(1) : arc));
      }
      let prev = dense[0][0];
      const unwrapped = dense.map(([lon, lat]) => {
        const u = prev + ((((lon - prev + 180) % 360) + 360) % 360) - 180;
        prev = u;
        return [u, lat] as LonLat;
      });
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      for (const off of [-360, 0, 360]) {
        ctx.beginPath();
        unwrapped.forEach(([lon, lat], i) => (i ? ctx.lineTo((lon + off + 180) * sx, (90 - lat) * sy) : ctx.moveTo((lon + off + 180) * sx, (90 - lat) * sy)));
        ctx.stroke();
      }
      ctx.setLineDash([]);
    };
    if (live.preview) for (const poly of live.preview) for (const ring of poly) polyline([...ring, ring[0]], "#ffffff", [], 2);
    if (live.draft.length) {
      polyline(live.draft, live.color, [], 2);
      if (live.cursor) polyline([live.draft[live.draft.length - 1], live.cursor], live.color, [4, 3], 1.5);
      for (const [lon, lat] of live.draft) {
        ctx.fillStyle = "#ffffff";
        ctx.beginPath();
        ctx.arc((lon + 180) * sx, (90 - lat) * sy, 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    if (live.invalid) polyline(live.invalid, "#ff3b3b", [], 2.5);
  }

  /** The camera's footprint: its image border traced on the sphere. */
  private drawFootprint(ctx: CanvasRenderingContext2D, view: View): void {
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const n = 24;
    const border: [number, number][] = [];
    const W = view.width - 0.5;
    const H = view.height - 0.5;
    for (let i = 0; i < n; i++) border.push([-0.5 + (W + 0.5) * (i / n), -0.5]);
    for (let i = 0; i < n; i++) border.push([W, -0.5 + (H + 0.5) * (i / n)]);
    for (let i = 0; i < n; i++) border.push([W - (W + 0.5) * (i / n), H]);
    for (let i = 0; i < n; i++) border.push([-0.5, H - (H + 0.5) * (i / n)]);
    const ll = border.map(([x, y]) => vecToLonlat(view.pixelToVec(x, y)));
    const sx = this.width / 360;
    const sy = this.height / 180;
    ctx.strokeStyle = "#ffd43b";
    ctx.lineWidth = 1.5;
    for (const off of [-360, 0, 360]) {
      ctx.beginPath();
      let prev: number | null = null;
      let lonU = 0;
      ll.forEach(([lon, lat], i) => {
        lonU = prev === null ? lon : prev + ((((lon - prev + 180) % 360) + 360) % 360) - 180;
        const jump = prev !== null && Math.abs(lonU - prev) > 90; // around a pole
        prev = lonU;
        const x = (lonU + off + 180) * sx;
        const y = (90 - lat) * sy;
        if (i === 0 || jump) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.closePath();
      ctx.stroke();
    }
    // the centre of the view
    const [clon, clat] = vecToLonlat(view.toWorld([0, 0, 1]));
    ctx.fillStyle = "#ffd43b";
    ctx.beginPath();
    ctx.arc((clon + 180) * sx, (90 - clat) * sy, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}
