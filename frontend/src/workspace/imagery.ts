/** Imagery loading: the preview first, then the full-resolution tiles once the first frame is on screen. */
import { toast } from "../ui/dom";
import { loadImage } from "../render/panorama_gl";
import type { Workspace } from "./core";
import { installExposure } from "./exposure";

/** Resolves once the first frame with imagery is on screen. */
export function afterFirstFrame(ws: Workspace): Promise<void> {
  return new Promise<void>((resolve) => {
    const wait = () => (ws.firstFrameAt !== null || ws.previewFailed ? resolve() : window.setTimeout(wait, 20));
    wait();
  });
}

export async function loadImagery(ws: Workspace, previewP: Promise<HTMLImageElement>): Promise<void> {
  const p = ws.pano;
  // a fast preview first (also feeds the equirect and cubemap viewers), then full-resolution tiles
  try {
    ws.marks.previewStart = performance.now();
    const preview = await previewP; // decoded and uploaded (workspacePage)
    ws.equirect.setImage(preview);
    ws.cubemap.setImage(preview);
    ws.request(true);
  } catch (err) {
    ws.previewFailed = true;
    toast(`Could not load the panorama preview: ${(err as Error).message}`, "error");
  }
  // HDR panoramas (stored or recovered radiance) get the exposure control
  void installExposure(ws, previewP);
  if (p.width <= 2048 || !ws.renderer) return;
  // full-resolution tiles only after the first frame is on screen (uploads block the main thread)
  await ws.afterFirstFrame();
  // …and after the overlays and panels have had their frame (a 4096² upload stalls software GL)
  await new Promise<void>((resolve) => {
    const wait = () => (document.body.dataset.ready === "1" && !ws.needs.panels && !ws.needs.overlay && ws.firstFramePresentedAt !== null ? resolve() : window.setTimeout(wait, 30));
    wait();
  });
  ws.marks.tilesStart = performance.now();
  const { cols, rows, size, url_template } = p.tiles;
  const jobs: Promise<void>[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const url = url_template.replace("{col}", String(c)).replace("{row}", String(r));
      jobs.push(
        loadImage(url).then((img) => {
          const rect: [number, number, number, number] = [(c * size) / p.width, (r * size) / p.height, img.naturalWidth / p.width, img.naturalHeight / p.height];
          ws.renderer!.addTile(img, rect, 0);
          ws.tilesLoaded += 1;
        }),
      );
    }
  }
  try {
    await Promise.all(jobs);
    ws.renderer.dropLevel(1);
    ws.request();
  } catch (err) {
    toast(`Some full-resolution tiles failed to load: ${(err as Error).message}`, "error");
  }
}
