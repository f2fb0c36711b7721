/**
 * Active annotation time: a second counts while the tab has focus and the user gave input
 * (pointer, keys, wheel) in the last IDLE_MS. The count is reported every BEAT_MS and when the
 * page is hidden or left (fetch keepalive), to POST /api/panoramas/ID/active-time/; the server
 * bounds each beat by the wall-clock time since the previous one (annotations/activity.py).
 */
import { csrfToken } from "../api";

export const IDLE_MS = 60_000;
export const BEAT_MS = 30_000;
const TICK_MS = 1000;

export class ActivityClock {
  /** Seconds counted and not yet reported. */
  pending = 0;
  /** Seconds counted on this page in total (reported or not). */
  total = 0;
  /** Seconds the server counted for this page's beats. */
  acknowledged = 0;
  private lastInput = -Infinity;
  private lastTick = performance.now();
  private lastBeat = performance.now();
  private timer = 0;

  constructor(readonly panoramaId: number) {
    const input = () => (this.lastInput = performance.now());
    for (const type of ["pointerdown", "pointermove", "keydown", "wheel"]) window.addEventListener(type, input, { passive: true, capture: true });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") void this.flush(true);
    });
    window.addEventListener("pagehide", () => void this.flush(true));
    this.timer = window.setInterval(() => this.tick(), TICK_MS);
  }

  /** Whether this moment counts: focused, visible, recent input. */
  active(now = performance.now()): boolean {
    return document.visibilityState === "visible" && document.hasFocus() && now - this.lastInput < IDLE_MS;
  }

  private tick(): void {
    const now = performance.now();
    // count the elapsed time (not the tick count: timers are throttled in background tabs)
    const elapsed = Math.min(now - this.lastTick, 5 * TICK_MS) / 1000;
    this.lastTick = now;
    if (this.active(now)) {
      this.pending += elapsed;
      this.total += elapsed;
    }
    if (now - this.lastBeat >= BEAT_MS) void this.flush(false);
  }

  /** Report the pending seconds (keepalive: the request outlives a closing page). */
  async flush(leaving: boolean): Promise<void> {
    this.lastBeat = performance.now();
    const seconds = Math.min(300, Math.round(this.pending * 10) / 10);
    if (seconds <= 0) return;
    this.pending -= seconds;
    try {
      const response = await fetch(`/api/panoramas/${this.panoramaId}/active-time/`, {
        method: "POST",
        credentials: "same-origin",
        keepalive: leaving,
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ seconds }),
      });
      if (response.ok) this.acknowledged += (await response.json()).counted ?? 0;
      else if (response.status >= 500) this.pending += seconds; // try again at the next beat
    } catch {
      if (!leaving) this.pending += seconds; // offline: keep the time for the next beat
    }
  }

  stop(): void {
    window.clearInterval(this.timer);
  }
}
