/** The workspace camera: a free NFOV camera, or a cube face with an expanded FOV (cubemap mode). */
import { FACE_DIRECTIONS, View } from "../sphere";

export type Mode = "nfov" | "cubemap";

export const FOV_MIN = 20;
export const FOV_MAX = 140;

export class Camera {
  mode: Mode = "nfov";
  yaw = 0;
  pitch = 0;
  hfov = 90;
  face = 0;
  faceFov = 100;

  setLook(yaw: number, pitch: number): void {
    this.yaw = ((((yaw + 180) % 360) + 360) % 360) - 180;
    this.pitch = Math.max(-89.9, Math.min(89.9, pitch));
  }

  setFov(hfov: number): void {
    this.hfov = Math.max(FOV_MIN, Math.min(FOV_MAX, hfov));
  }

  /** The view for a canvas of width × height CSS pixels. */
  view(width: number, height: number): View {
    if (this.mode === "cubemap") {
      const [yaw, pitch] = FACE_DIRECTIONS[this.face];
      return new View({ yaw, pitch, roll: 0, hfov: this.faceFov, width, height });
    }
    return new View({ yaw: this.yaw, pitch: this.pitch, roll: 0, hfov: this.hfov, width, height });
  }
}

/** Compass heading label of a yaw. */
export function heading(yaw: number): string {
  const names = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"];
  const d = ((yaw % 360) + 360) % 360;
  return names[Math.round(d / 45) % 8];
}
