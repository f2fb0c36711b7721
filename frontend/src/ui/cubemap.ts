/**
 * The cubemap viewer (Label360 v1): the six faces in a dice (cross) layout, rendered from the
 * panorama, with the instances on them. Face borders show status: green = the face has
 * annotations, red = none, yellow = the face now on the drawing canvas. Clicking picks a face.
 */
import { FACE_NAMES, View, cubeFaceViews } from "../sphere";
import type { Inst } from "../store";
import { drawInstances, projectInstance } from "../render/overlay";

/** Dice cell (column, row) of each face in F R B L U D order. */
const CELLS: [number, number][] = [
  [1, 1],
  [2, 1],
  [3, 1],
  [0, 1],
  [1, 0],
  [1, 2],
];

export class CubemapViewer {
  readonly canvas: HTMLCanvasElement;
  private faces: HTMLCanvasElement[] = [];
  private faceSize = 0;
  private source: ImageData | null = null;
  current = 0;
  onPick: ((face: number) => void) | null = null;

  constructor(readonly host: HTMLElement) {
    this.canvas = document.createElement("canvas");
    this.canvas.className = "cubemap-canvas";
    host.appendChild(this.canvas);
    this.canvas.addEventListener("click", (e) => {
      const r = this.canvas.getBoundingClientRect();
      const col = Math.floor(((e.clientX - r.left) / r.width) * 4);
      const row = Math.floor(((e.clientY - r.top) / r.height) * 3);
      const face = CELLS.findIndex(([c, rr]) => c === col && rr === row);
      if (face >= 0) this.onPick?.(face);
    });
  }

  /** Face pixels from an equirect image (bilinear-free nearest sampling of a small copy). */
  private image: HTMLImageElement | null = null;

  /** The pixels are read only when the dice is first drawn (cubemap mode): reading back a
   *  canvas costs ~0.5 s with software GL and would delay the first frame. */
  setImage(img: HTMLImageElement): void {
    this.image = img;
    this.source = null;
    this.faces = [];
  }

  private readSource(): void {
    const img = this.image;
    if (!img) return;
    const w = Math.min(1024, img.naturalWidth);
    const h = Math.round(w / 2);
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    const ctx = c.getContext("2d", { willReadFrequently: true })!; // CPU-backed: no GPU readback
    ctx.drawImage(img, 0, 0, w, h);
    this.source = ctx.getImageData(0, 0, w, h);
  }

  private renderFaces(): void {
    if (!this.source) this.readSource();
    if (!this.source) return;
    const s = this.faceSize;
    const { width: W, height: H, data } = this.source;
    this.faces = cubeFaceViews(s, 90).map((view) => {
      const c = document.createElement("canvas");
      c.width = s;
      c.height = s;
      const ctx = c.getContext("2d")!;
      const out = ctx.createImageData(s, s);
      for (let y = 0; y < s; y++) {
        for (let x = 0; x < s; x++) {
          const v = view.pixelToVec(x, y);
          const lon = Math.atan2(v[0], v[2]);
          const lat = Math.atan2(v[1], Math.hypot(v[0], v[2]));
          const i = Math.min(W - 1, Math.max(0, Math.floor((lon / (2 * Math.PI) + 0.5) * W)));
          const j = Math.min(H - 1, Math.max(0, Math.floor((0.5 - lat / Math.PI) * H)));
          const src = (j * W + i) * 4;
          const dst = (y * s + x) * 4;
          out.data[dst] = data[src];
          out.data[dst + 1] = data[src + 1];
          out.data[dst + 2] = data[src + 2];
          out.data[dst + 3] = 255;
        }
      }
      ctx.putImageData(out, 0, 0);
      return c;
    });
  }

  /** Which faces (90° squares) hold part of an instance. */
  static facesWithAnnotations(instances: Inst[], hidden: Set<string>): boolean[] {
    const views = cubeFaceViews(64, 90);
    return views.map((view) => instances.some((inst) => !hidden.has(inst.uid) && projectInstance(view, inst, undefined).some((p) => p.some((r) => r && r.pts.length >= 6))));
  }

  draw(instances: Inst[], colors: Map<number, string>, hidden: Set<string>, selected: string | null): void {
    const width = Math.max(160, Math.floor(this.host.clientWidth));
    const s = Math.floor(width / 4);
    if (s !== this.faceSize) {
      this.faceSize = s;
      this.faces = [];
      this.canvas.width = 4 * s;
      this.canvas.height = 3 * s;
      this.canvas.style.width = `${4 * s}px`;
      this.canvas.style.height = `${3 * s}px`;
    }
    if (!this.faces.length) this.renderFaces();
    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const status = CubemapViewer.facesWithAnnotations(instances, hidden);
    const views = cubeFaceViews(s, 90);
    views.forEach((view: View, f) => {
      const [c, r] = CELLS[f];
      ctx.save();
      ctx.translate(c * s, r * s);
      ctx.beginPath();
      ctx.rect(0, 0, s, s);
      ctx.clip();
      if (this.faces[f]) ctx.drawImage(this.faces[f], 0, 0);
      else {
        ctx.fillStyle = "#1b1f27";
        ctx.fillRect(0, 0, s, s);
      }
      drawInstances(ctx, view, instances, { colors, selected, selectedVertex: null, hidden, fillAlpha: 0.3 });
      ctx.restore();
    });
    // borders on top: red/green status, yellow for the current face
    views.forEach((_, f) => {
      const [c, r] = CELLS[f];
      const color = f === this.current ? "#ffd43b" : status[f] ? "#2fbf71" : "#e5484d";
      ctx.strokeStyle = color;
      ctx.lineWidth = f === this.current ? 3 : 2;
      ctx.strokeRect(c * s + 1.5, r * s + 1.5, s - 3, s - 3);
      ctx.fillStyle = "rgba(0,0,0,0.55)";
      ctx.fillRect(c * s + 4, r * s + 4, 16, 15);
      ctx.fillStyle = color;
      ctx.font = "bold 11px system-ui, sans-serif";
      ctx.fillText(FACE_NAMES[f], c * s + 8, r * s + 15);
    });
  }
}
