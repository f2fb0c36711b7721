/**
 * The ellipse tool: three clicks on the view outline of a real disc give a ring whose every
 * vertex sees a point of that disc's rim, wherever the disc sits on the sphere (near a pole,
 * across the seam, seen at a grazing angle), and the chords stay within half a pixel of the curve.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { LonLat, Vec3, View, add, cross, dot, ellipseRing, ellipseThrough, lonlatToVec, normalize, scale, vecToLonlat } from "../src/sphere";

type Disc = { centre: Vec3; normal: Vec3; radius: number };

function rim(disc: Disc, n: number): Vec3[] {
  const helper: Vec3 = Math.abs(disc.normal[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  const e1 = normalize(cross(disc.normal, helper));
  const e2 = cross(disc.normal, e1);
  return Array.from({ length: n }, (_, k) => {
    const t = (2 * Math.PI * k) / n;
    return add(disc.centre, add(scale(e1, disc.radius * Math.cos(t)), scale(e2, disc.radius * Math.sin(t))));
  });
}

/** Distance from the disc's centre at which the ray through ``v`` meets the disc's plane. */
function rimDistance(disc: Disc, v: Vec3): number {
  const t = dot(disc.normal, disc.centre) / dot(disc.normal, v);
  const x = scale(v, t);
  const d: Vec3 = [x[0] - disc.centre[0], x[1] - disc.centre[1], x[2] - disc.centre[2]];
  return Math.hypot(d[0], d[1], d[2]);
}

const UP = lonlatToVec(0, 90);

const CASES: { name: string; disc: Disc }[] = [
  // a manhole 1.6 m under the camera, a little ahead: near the nadir
  { name: "manhole near the nadir", disc: { centre: add(scale(UP, -1.6), scale(lonlatToVec(40, 0), 0.9)), normal: UP, radius: 0.35 } },
  // a round ceiling lamp right above, off-centre
  { name: "lamp near the zenith", disc: { centre: add(scale(UP, 1.2), scale(lonlatToVec(-120, 0), 0.5)), normal: UP, radius: 0.3 } },
  // a wheel across the seam, seen at a slant
  { name: "wheel across the seam", disc: { centre: add(scale(lonlatToVec(179, 0), 4), scale(UP, -1.2)), normal: normalize(lonlatToVec(150, 0)), radius: 0.33 } },
  // a road sign at eye level, nearly edge-on
  { name: "grazing sign", disc: { centre: scale(lonlatToVec(-30, 5), 6), normal: normalize(lonlatToVec(50, 0)), radius: 0.4 } },
];

for (const { name, disc } of CASES) {
  test(`ellipse through three outline clicks follows the disc's rim: ${name}`, () => {
    const look = vecToLonlat(normalize(disc.centre));
    const view = new View({ yaw: look[0], pitch: look[1], roll: 0, hfov: 60, width: 900, height: 700 });
    // the outline as a user sees it, and the clicks a user makes: the two ends of its long axis
    // (the farthest pair of outline points) and one more point of the outline
    const outline = rim(disc, 2880).map((x) => view.vecToPixel(normalize(x))!);
    let best = [0, 1];
    let far = 0;
    for (let i = 0; i < outline.length; i++)
      for (let j = i + 1; j < outline.length; j += 1) {
        const d = Math.hypot(outline[i][0] - outline[j][0], outline[i][1] - outline[j][1]);
        if (d > far) (far = d), (best = [i, j]);
      }
    const [i, j] = best;
    const third = outline[(i + Math.round((j - i) / 3) + outline.length) % outline.length];
    const click = (p: [number, number]): LonLat => view.pixelToLonlat(p[0], p[1]);
    const ring = ellipseRing(view, click(outline[i]), click(outline[j]), click(third));
    assert.ok(ring, "an ellipse");
    assert.ok(ring.length >= 16 && ring.length <= 96, `${ring.length} vertices`);
    for (const ll of ring) {
      const r = rimDistance(disc, lonlatToVec(ll[0], ll[1]));
      assert.ok(Math.abs(r - disc.radius) < 2e-3 * disc.radius + 1e-4, `vertex ${ll} sees the disc's plane ${r} from its centre (radius ${disc.radius})`);
    }
  });
}

test("the chords of the ellipse stay within half a pixel of the curve", () => {
  for (const [half, other] of [[300, 120], [20, 9], [600, 580]]) {
    const pts = ellipseThrough([400 - half, 300], [400 + half, 300], [400, 300 + other])!;
    // the chord's midpoint and the curve at the mid-angle: the largest gap of a chord
    for (let k = 0; k < pts.length; k++) {
      const phi = (2 * Math.PI * (k + 0.5)) / pts.length;
      const curve = [400 + half * Math.cos(phi), 300 + other * Math.sin(phi)];
      const mid = [(pts[k][0] + pts[(k + 1) % pts.length][0]) / 2, (pts[k][1] + pts[(k + 1) % pts.length][1]) / 2];
      assert.ok(Math.hypot(curve[0] - mid[0], curve[1] - mid[1]) <= 0.5 + 1e-9);
    }
  }
});

test("clicks that fix no ellipse are refused", () => {
  assert.equal(ellipseThrough([0, 0], [100, 0], [50, 0]), null, "third click on the axis");
  assert.equal(ellipseThrough([0, 0], [100, 0], [120, 10]), null, "third click beyond the axis's end");
  assert.equal(ellipseThrough([0, 0], [0.5, 0], [0, 10]), null, "no axis");
  const view = new View({ yaw: 0, pitch: 0, roll: 0, hfov: 90, width: 200, height: 200 });
  assert.equal(ellipseRing(view, [0, 0], [10, 0], [180, 0]), null, "a click behind the camera");
});
