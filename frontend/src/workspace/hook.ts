/** The window.label360 test hook used by the browser tests. */
import type { Workspace } from "./core";

export function installHook(ws: Workspace): void {
  const self = ws;
  (window as any).label360 = {
    workspace: ws,
    setCamera(p: { yaw?: number; pitch?: number; hfov?: number }) {
      self.setMode("nfov");
      self.camera.setLook(p.yaw ?? self.camera.yaw, p.pitch ?? self.camera.pitch);
      if (p.hfov !== undefined) self.camera.setFov(p.hfov);
      self.request();
    },
    setFace(face: number) {
      self.setFace(face);
    },
    view() {
      return self.view().params();
    },
    state() {
      return {
        save: self.saver.state,
        revision: self.saver.revision,
        instances: self.store.instances,
        selected: self.store.selected,
        tool: self.interaction.tool,
        draft: self.interaction.draft,
        framesDrawn: self.renderer?.framesDrawn ?? 0,
        firstFrameMs: self.firstFrameAt,
        firstFramePresentedMs: self.firstFramePresentedAt,
        marks: { start: self.t0, ...self.marks },
        tilesLoaded: self.tilesLoaded,
        mode: self.camera.mode,
        depth: self.depthState,
        equirectMode: self.equirect.mode,
        review: self.reviewPanel.loaded ? self.reviewPanel.events.length : null,
        interactive: self.interactive ? { busy: self.interactive.busy, result: self.interactive.result, box: self.interactive.box } : null,
      };
    },
    surfaceCursor() {
      const c = self.lastCursor;
      return c ? { centre: c.centre, major: c.major, minor: c.minor, distance: c.distance, normal: c.normal, radius: c.radius } : null;
    },
    frameTimes() {
      return self.frameTimes.slice();
    },
    saveNow() {
      return self.saver.save();
    },
    activity() {
      const a = self.activity;
      return a ? { total: a.total, pending: a.pending, acknowledged: a.acknowledged } : null;
    },
  };
}
