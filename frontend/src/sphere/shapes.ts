/**
 * Shapes fixed by a few clicks (twin of label360.sphere.shapes; the ellipse and upright
 * rectangle tools of the annotation UI). A round thing in the world (a wheel, a manhole, a sign, a lamp)
 * is an ellipse in every rectilinear view that sees it whole, wherever it sits on the sphere —
 * unlike the equirectangular image, where the same disc bends into a different curve at every
 * latitude. Three clicks on its outline fix the ellipse: the two ends of one axis, then any
 * other point of the outline. The ellipse is stored as a spherical polygon whose vertices lie on
 * it, spaced so that no great-circle edge strays more than half a view pixel from the curve.
 */
import type { LonLat } from "./vec";
import type { View } from "./view";

type Px = [number, number];

/** Largest gap between the curve and a chord, in view pixels. */
const SAGITTA_PX = 0.5;
const MIN_VERTICES = 16;
const MAX_VERTICES = 96;

/**
 * Points of the ellipse with one axis from ``a`` to ``b`` through ``p`` (view pixels), going
 * round once; null when ``p`` does not fix one (it lies on the axis line or beyond its ends).
 */
export function ellipseThrough(a: Px, b: Px, p: Px): Px[] | null {
  const cx = (a[0] + b[0]) / 2;
  const cy = (a[1] + b[1]) / 2;
  const half = Math.hypot(b[0] - a[0], b[1] - a[1]) / 2;
  if (!(half >= 1)) return null;
  const ux = (b[0] - a[0]) / (2 * half);
  const uy = (b[1] - a[1]) / (2 * half);
  // p in the axis frame: along the axis (x) and across it (y)
  const x = (p[0] - cx) * ux + (p[1] - cy) * uy;
  const y = -(p[0] - cx) * uy + (p[1] - cy) * ux;
  const t = 1 - (x / half) ** 2;
  if (!(t > 1e-3) || Math.abs(y) < 0.5) return null;
  const other = Math.abs(y) / Math.sqrt(t);
  const r = Math.max(half, other);
  const n = Math.max(MIN_VERTICES, Math.min(MAX_VERTICES, Math.ceil(Math.PI / Math.acos(Math.max(-1, 1 - SAGITTA_PX / r)))));
  const points: Px[] = [];
  for (let k = 0; k < n; k++) {
    const phi = (2 * Math.PI * k) / n;
    const ex = half * Math.cos(phi);
    const ey = other * Math.sin(phi);
    points.push([cx + ex * ux - ey * uy, cy + ex * uy + ey * ux]);
  }
  return points;
}

/**
 * The ellipse through three clicked points of the sphere, drawn in ``view``, as a ring of the
 * sphere; null when a point is behind the camera or the three do not fix an ellipse.
 */
export function ellipseRing(view: View, a: LonLat, b: LonLat, p: LonLat): LonLat[] | null {
  const pa = view.lonlatToPixel(a[0], a[1]);
  const pb = view.lonlatToPixel(b[0], b[1]);
  const pp = view.lonlatToPixel(p[0], p[1]);
  if (!pa || !pb || !pp) return null;
  const points = ellipseThrough(pa, pb, pp);
  return points ? points.map(([x, y]) => view.pixelToLonlat(x, y)) : null;
}

/** The widest upright rectangle, in longitude: beyond it "the short way round" is ambiguous. */
const MAX_RECTANGLE_LON = 179;
/** No corner on a pole: its meridian is undefined there. */
const MAX_RECTANGLE_LAT = 89.9;

/**
 * The upright rectangle with opposite corners ``a`` and ``b``: the ring a, (lon b, lat a), b,
 * (lon a, lat b) with great-circle edges, the short way round in longitude. Its sides lie on
 * meridians (world verticals) and its top and bottom on the great circles through two corners
 * at one latitude: an upright face seen square-on, an axis-aligned rectangle in a level view.
 * Null when the corners share a longitude or latitude, are > 179° apart in longitude, or one
 * sits on a pole.
 */
export function uprightRectangle(a: LonLat, b: LonLat): LonLat[] | null {
  const dlon = ((((b[0] - a[0] + 180) % 360) + 360) % 360) - 180;
  const latOk = Math.max(Math.abs(a[1]), Math.abs(b[1])) < MAX_RECTANGLE_LAT;
  if (!(latOk && Math.abs(dlon) > 1e-6 && Math.abs(dlon) <= MAX_RECTANGLE_LON && Math.abs(b[1] - a[1]) > 1e-6)) return null;
  return [
    [a[0], a[1]],
    [b[0], a[1]],
    [b[0], b[1]],
    [a[0], b[1]],
  ];
}

