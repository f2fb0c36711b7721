/** Camera and tool control: looking, zooming, NFOV/cubemap mode and face switching, tool selection. */
import { faceOf, lonlatToVec, vecToLonlat } from "../sphere";
import { prepare } from "../render/prepared";
import { FOV_MAX, FOV_MIN } from "../ui/camera";
import { toast } from "../ui/dom";
import type { Tool } from "../ui/interaction";
import type { Inst } from "../store";
import type { Workspace } from "./core";

export function look(ws: Workspace, dx: number, dy: number): void {
  if (ws.camera.mode !== "nfov") return;
  const degPerPx = ws.view().hfov / Math.max(1, ws.viewW);
  ws.camera.setLook(ws.camera.yaw - dx * degPerPx, ws.camera.pitch + dy * degPerPx);
  ws.request();
}

export function zoom(ws: Workspace, factor: number): void {
  if (ws.camera.mode !== "nfov") return;
  ws.camera.setFov(ws.camera.hfov * factor);
  ws.request();
}

export function lookAt(ws: Workspace, lon: number, lat: number): void {
  if (ws.camera.mode === "cubemap") {
    const face = faceFromLonLat(lon, lat);
    ws.setFace(face);
    return;
  }
  ws.camera.setLook(lon, lat);
  ws.request();
}

export function focusInstance(ws: Workspace, inst: Inst): void {
  const [clon, clat] = centreOf(inst);
  ws.lookAt(clon, clat);
}

/**
 * Zoom to fit: turn the camera to the centre of the instance's bounding cone and narrow (or
 * widen) the FOV so the cone fills about 80% of the view's shorter side. In cubemap mode the
 * face holding the centre is shown (faces have a fixed FOV).
 */
export function fitInstance(ws: Workspace, inst: Inst): void {
  const cone = prepare(inst.geometry);
  const [lon, lat] = vecToLonlat(cone.centre);
  if (ws.camera.mode === "cubemap") {
    ws.lookAt(lon, lat);
    return;
  }
  const w = Math.max(1, ws.viewW);
  const h = Math.max(1, ws.viewH);
  // half-angle the cone must fit in, on the shorter side (with a 25% margin)
  const half = Math.min(Math.max(cone.radius * 1.25, (2 * Math.PI) / 180), (80 * Math.PI) / 180);
  const tanShort = Math.tan(half);
  const hfov = (2 * Math.atan(w >= h ? (tanShort * w) / h : tanShort) * 180) / Math.PI;
  ws.camera.setLook(lon, lat);
  ws.camera.setFov(Math.max(FOV_MIN, Math.min(FOV_MAX, hfov)));
  ws.request();
}

export function setMode(ws: Workspace, mode: "nfov" | "cubemap"): void {
  ws.camera.mode = mode;
  if (mode === "cubemap") ws.camera.face = faceFromLonLat(ws.camera.yaw, ws.camera.pitch);
  ws.cubemap.current = ws.camera.face;
  ws.interaction.cancel();
  ws.renderToolbar();
  ws.request(true);
}

export function setFace(ws: Workspace, face: number): void {
  if (ws.camera.mode !== "cubemap") ws.camera.mode = "cubemap";
  ws.camera.face = face;
  ws.cubemap.current = face;
  ws.renderToolbar();
  ws.request(true);
}

export function setTool(ws: Workspace, tool: Tool): void {
  ws.interaction.setTool(tool);
  ws.renderToolbar();
}

export function startAddPart(ws: Workspace): void {
  if (!ws.store.selected) return;
  ws.interaction.setTool("draw");
  ws.interaction.addPart = true;
  ws.renderToolbar();
  toast("Draw the new part; it joins the selected instance.");
}

export function faceFromLonLat(lon: number, lat: number): number {
  return faceOf(lonlatToVec(lon, lat));
}

export function centreOf(inst: Inst): [number, number] {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const [lon, lat] of inst.geometry[0][0]) {
    const a = (lon * Math.PI) / 180;
    const b = (lat * Math.PI) / 180;
    x += Math.cos(b) * Math.sin(a);
    y += Math.sin(b);
    z += Math.cos(b) * Math.cos(a);
  }
  return vecToLonlat([x, y, z]);
}
