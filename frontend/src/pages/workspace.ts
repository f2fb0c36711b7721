/**
 * The annotation workspace page (entry point): starts the first frame's requests in parallel and
 * hands them to the Workspace (frontend/src/workspace/), which builds and runs the page.
 */
import { api } from "../api";
import { h } from "../ui/dom";
import { PanoramaRenderer, loadImage } from "../render/panorama_gl";
import type { Panorama, Project, InstancesResponse, LabelClass } from "../types";
import { type Ctx, Workspace } from "../workspace/core";

/** The first image: the same URL as the page's <link rel="preload">, so it is already coming. */
export function previewUrl(panoramaId: number): string {
  return `/api/panoramas/${panoramaId}/display/?width=2048`;
}

export async function workspacePage(root: HTMLElement, ctx: Ctx): Promise<void> {
  const t0 = performance.now();
  // everything the first frame needs is requested at once (the preview was preloaded by the page)
  const preview = loadImage(previewUrl(ctx.panoramaId));
  preview.catch(() => undefined);
  // the WebGL context, its shader and the preview texture are made while the API answers
  const glCanvas = h("canvas", { class: "gl-canvas", id: "gl-canvas" });
  let renderer: PanoramaRenderer | null = null;
  let glError = "";
  try {
    renderer = new PanoramaRenderer(glCanvas);
  } catch (err) {
    glError = (err as Error).message;
  }
  const marks: Record<string, number> = {};
  const uploaded = preview.then((img) => {
    marks.previewLoaded = performance.now();
    renderer?.addTile(img, [0, 0, 1, 1], 1);
    marks.previewUploaded = performance.now();
    return img;
  });
  uploaded.catch(() => undefined);
  const panoP = api<Panorama>("GET", `/api/panoramas/${ctx.panoramaId}/`);
  const projectId = ctx.projectId ?? (await panoP).project;
  const projectP = api<Project>("GET", `/api/projects/${projectId}/`);
  const classesP = api<LabelClass[]>("GET", `/api/classes/?project=${projectId}`);
  for (const p of [projectP, classesP]) p.catch(() => undefined);
  const [pano, project] = await Promise.all([panoP, projectP]);
  // the instance set (the slowest answer: ~0.5 s for 500 instances) is asked for after the small
  // requests, so that a one-worker server answers those first and the first frame does not wait
  const instancesP = api<InstancesResponse>("GET", `/api/panoramas/${ctx.panoramaId}/instances/`);
  const ws = new Workspace(root, ctx, pano, project, t0, glCanvas, renderer, glError);
  Object.assign(ws.marks, marks);
  await ws.start(instancesP, classesP, uploaded);
}
