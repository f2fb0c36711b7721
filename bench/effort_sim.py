"""A simulated annotator: how many clicks until a polygon reaches spherical IoU ≥ 0.9.

Three ways of drawing one instance (its exact truth: ``effort_scenes.Instance.parts``):

* ``ours`` — Label360: a polygon whose edges are great-circle arcs, drawn in a rectilinear
  (gnomonic) view centred on the object (the NFOV camera; an expanded-FOV cube face is the
  same geometry). Straight lines of the view are great circles, so the drawing space is the
  gnomonic plane and the region is the spherical polygon through the clicked points.
* ``labelme`` — a flat polygon on the equirectangular image with straight pixel edges. An
  object across the seam needs one polygon per side; a polar cap runs along the image border.
* ``cubemap`` — face by face on a plain 90° cubemap: a polygon per face the object touches,
  straight in that face (great circles) and bounded by it.

One rule for all modes. In each mode's drawing space the truth's outline is known exactly
(one closed outline per connected piece: per face, per side of the seam, …). The candidate
clicks are points of that outline: its Douglas–Peucker vertices (0.5 px) plus 48 points at
equal spacing along it. A polygon is started on a piece with its two farthest-apart
candidates; every further click inserts one candidate between its outline neighbours among
the clicked ones, never making the polygon cross itself. Each step takes the action with the
largest IoU gain per click:

* one click in a polygon already started;
* starting the polygon of another piece, valued along that piece's own greedy trace (the
  pair, then the click that most raises the piece's IoU, …; any prefix of ≥ 3 clicks) — a
  thin curved piece gains only after several clicks, not after its first three;
* only when no single click gains: two clicks at once (a narrow notch, e.g. a pole in front
  of a façade, has to be traced with two vertices before the IoU rises).

Ties go to the first piece and candidate, so runs are deterministic. It stops when the IoU
reaches the target (success), when no action fits under the cap or none gains (failure).

IoU is on the sphere with solid-angle weights in every mode:

* *guidance* (choosing the next click): each piece has a grid in its drawing space (2 cells
  per pixel, 24–160 cells a side), each cell weighted by its solid angle; the truth's cover of
  each cell is measured at 4×4 sub-samples. Cells are sampled at their centres by even-odd
  crossing parity, so inserting a vertex changes the polygon's cells by exactly the XOR with
  the triangle it adds — every candidate is scored from its triangle alone.
* *reference* (deciding success, reported): pixel centres of the W×H equirectangular grid,
  each weighted by its exact solid angle. The truth is ``label360.sphere.rasterize`` of the
  exact parts; the drawn region is ``rasterize`` of the drawn spherical polygons (ours,
  cubemap) or the even-odd scanline fill of the pixel polygons (LabelMe; pixel centres inside
  the straight-edged polygon, as a flat polygon tool's mask is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPolygon, Polygon, box

from label360.sphere import (
    View,
    contains,
    cube_face_views,
    intersection,
    lonlat_to_vec,
    rasterize,
    vec_to_lonlat,
    view_polygon_to_sphere,
)
from label360.sphere.vectors import arc_points

MODES = ("ours", "labelme", "cubemap")
TARGET_IOU = 0.9
CAP_CLICKS = 60
#: guidance IoU above which the reference IoU is checked (the two agree to a few 0.01).
GATE = 0.8
DP_PX = 0.5
N_EVEN = 48
MAX_DP = 120
CELLS_PER_PX = 2.0
MIN_CELLS = 24
MAX_CELLS = 160
SUPERSAMPLE = 4
#: how far the trace that values opening a piece goes (clicks, piece IoU)
ROLLOUT_CLICKS = 40
ROLLOUT_IOU = 0.97
#: step of the equirect outline of a great-circle edge (px)
DENSIFY_PX = 0.25


# ----------------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _crossing(ax, ay, bx, by, i):
    """x where the edge meets row i (half-open in y), or nan; direction-independent."""
    if ay > by or (ay == by and ax > bx):
        ax, ay, bx, by = bx, by, ax, ay
    if ay <= i < by:
        return ax + (i - ay) * (bx - ax) / (by - ay)
    return np.nan


@numba.njit(cache=True)
def _tri_delta(xs, ys, p, w, wc, apply):
    """Cells (centres, even-odd) of triangle xs, ys: Σ w·(1 − 2p), Σ wc·(1 − 2p); with
    ``apply`` the cells of ``p`` are flipped (p XOR triangle)."""
    ny, nx = p.shape
    i0 = max(0, int(math.ceil(min(ys[0], ys[1], ys[2]))))
    i1 = min(ny, int(math.ceil(max(ys[0], ys[1], ys[2]))))
    da = 0.0
    di = 0.0
    for i in range(i0, i1):
        lo = np.inf
        hi = -np.inf
        n = 0
        for e in range(3):
            f = (e + 1) % 3
            x = _crossing(xs[e], ys[e], xs[f], ys[f], i)
            if not np.isnan(x):
                n += 1
                lo = min(lo, x)
                hi = max(hi, x)
        if n != 2:
            continue
        j0 = max(0, int(math.ceil(lo)))
        j1 = min(nx, int(math.ceil(hi)))
        for j in range(j0, j1):
            s = 1.0 - 2.0 * p[i, j]
            da += s * w[i, j]
            di += s * wc[i, j]
            if apply:
                p[i, j] = 1 - p[i, j]
    return da, di


@numba.njit(cache=True)
def _parity_fill(xs, ys, ny, nx):
    """Even-odd fill of a closed polygon at cell centres (same crossing rule as above)."""
    flips = np.zeros((ny, nx + 1), np.uint8)
    n = len(xs)
    for e in range(n):
        f = (e + 1) % n
        i0 = max(0, int(math.ceil(min(ys[e], ys[f]))))
        i1 = min(ny, int(math.ceil(max(ys[e], ys[f]))))
        for i in range(i0, i1):
            x = _crossing(xs[e], ys[e], xs[f], ys[f], i)
            if not np.isnan(x):
                j = min(nx, max(0, int(math.ceil(x))))
                flips[i, j] ^= 1
    out = np.zeros((ny, nx), np.uint8)
    for i in range(ny):
        s = 0
        for j in range(nx):
            s ^= flips[i, j]
            out[i, j] = s
    return out


@numba.njit(cache=True)
def _orient(ax, ay, bx, by, cx, cy):
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)


@numba.njit(cache=True)
def _proper_cross(p, q, r, s):
    o1 = _orient(p[0], p[1], q[0], q[1], r[0], r[1])
    o2 = _orient(p[0], p[1], q[0], q[1], s[0], s[1])
    o3 = _orient(r[0], r[1], s[0], s[1], p[0], p[1])
    o4 = _orient(r[0], r[1], s[0], s[1], q[0], q[1])
    return o1 * o2 < 0.0 and o3 * o4 < 0.0


@numba.njit(cache=True)
def _scan_candidates(cand, chosen, p, w, wc, da, di, valid):
    """For every candidate not chosen: the triangle it would add between its outline
    neighbours among ``chosen`` (sorted indices), its (ΔA, ΔI), and whether the new polygon
    stays simple (the two new edges cross no other edge)."""
    m = cand.shape[0]
    k = chosen.shape[0]
    is_chosen = np.zeros(m, np.bool_)
    for t in range(k):
        is_chosen[chosen[t]] = True
    xs = np.empty(3)
    ys = np.empty(3)
    for c in range(m):
        valid[c] = False
        if is_chosen[c]:
            continue
        # slot: predecessor a (last chosen before c, cyclic) and successor b
        t = 0
        while t < k and chosen[t] < c:
            t += 1
        ta = (t - 1) % k
        tb = t % k
        a = chosen[ta]
        b = chosen[tb]
        ok = True
        if k >= 3:
            for u in range(k):
                v = (u + 1) % k
                if u == ta:  # the edge a-b being replaced
                    continue
                e0 = chosen[u]
                e1 = chosen[v]
                if e0 != a and e1 != a:
                    if _proper_cross(cand[a], cand[c], cand[e0], cand[e1]):
                        ok = False
                        break
                if e0 != b and e1 != b:
                    if _proper_cross(cand[c], cand[b], cand[e0], cand[e1]):
                        ok = False
                        break
        if not ok:
            continue
        xs[0], ys[0] = cand[a, 0], cand[a, 1]
        xs[1], ys[1] = cand[c, 0], cand[c, 1]
        xs[2], ys[2] = cand[b, 0], cand[b, 1]
        da[c], di[c] = _tri_delta(xs, ys, p, w, wc, False)
        valid[c] = True


# ----------------------------------------------------------------------------- drawing spaces


def focal_px(width: int) -> float:
    """Focal length (px) of the gnomonic drawing spaces: the equirect's pixel angle at the
    view centre, so one pixel means the same angle in every mode."""
    return round(width / math.pi) / 2.0


@dataclass
class Sheet:
    """A drawing space: the equirect image (``view`` None) or a gnomonic view."""

    width: int  # equirect width (W); the grid the reference IoU uses
    view: View | None = None

    def density(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Solid angle per square pixel at sheet coordinates (x, y)."""
        if self.view is None:
            h = self.width // 2
            lat = np.radians(90.0 - (y + 0.5) * 180.0 / h)
            return (2 * math.pi / self.width) * (math.pi / h) * np.clip(np.cos(lat), 0.0, None)
        f = self.view.focal
        dx = x + 0.5 - self.view.width / 2.0
        dy = y + 0.5 - self.view.height / 2.0
        return f / (dx * dx + dy * dy + f * f) ** 1.5

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        if self.view is None:
            h = self.width // 2
            lon = (xy[:, 0] + 0.5) / self.width * 360.0 - 180.0
            lat = 90.0 - (xy[:, 1] + 0.5) / h * 180.0
            return np.stack([lon, lat], axis=1)
        return np.asarray(view_polygon_to_sphere(xy, self.view), float)

    def from_lonlat(self, ring: np.ndarray) -> np.ndarray:
        x, y = self.view.lonlat_to_pixel(ring[:, 0], ring[:, 1])
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("outline behind the view")
        return np.stack([x, y], axis=1)


@dataclass
class Piece:
    """One connected piece of the truth in one drawing space, with its guidance grid."""

    sheet: Sheet
    outline: np.ndarray  # (n, 2) closed ring in sheet coordinates
    cand: np.ndarray  # (m, 2) candidate clicks in outline order (sheet coordinates)
    origin: tuple[float, float] = (0.0, 0.0)  # sheet coordinates of cell (0, 0)'s centre
    step: tuple[float, float] = (1.0, 1.0)
    w: np.ndarray = field(default=None, repr=False)  # solid angle per cell
    wc: np.ndarray = field(default=None, repr=False)  # w × truth cover
    truth: float = 0.0  # Σ wc

    def cells(self, xy: np.ndarray) -> np.ndarray:
        return (xy - np.asarray(self.origin)) / np.asarray(self.step)


def _minimax_centre(v: np.ndarray, iters: int = 200) -> np.ndarray:
    """Approximate centre of the smallest cap containing unit vectors v (Bădoiu–Clarkson)."""
    c = v.sum(axis=0)
    c /= np.linalg.norm(c)
    for k in range(1, iters + 1):
        far = v[np.argmin(v @ c)]
        c = c + (far - c) / (k + 1)
        c /= np.linalg.norm(c)
    return c


def _planar_union(polys: list[Polygon]) -> list[Polygon]:
    """Union of planar polygons that share (numerically) identical edges."""
    # Parts share edges that are equal only up to rounding (and may meet along part of an
    # edge): close gaps narrower than 2·1e-3 px, then undo the growth.
    grown = [shapely.make_valid(p).buffer(1e-3, join_style="mitre") for p in polys if p.area > 0]
    u = shapely.union_all(grown).buffer(-1e-3, join_style="mitre")
    out: list[Polygon] = []
    for g in getattr(u, "geoms", [u]):
        if isinstance(g, Polygon) and g.area > 1e-4:
            out.append(g)
        elif isinstance(g, MultiPolygon):
            out.extend(q for q in g.geoms if q.area > 1e-4)
    return out


def _rings(parts: list) -> list[np.ndarray]:
    return [np.asarray(p[0], float) for p in parts]


class HoleError(ValueError):
    """The visible region has a hole (an occluder inside it): not simulated."""


def ours_pieces(parts: list, width: int) -> list[Piece]:
    """Pieces in a gnomonic view centred on the object (the NFOV camera)."""
    v = np.concatenate([lonlat_to_vec(r[:, 0], r[:, 1]) for r in _rings(parts)])
    c = _minimax_centre(v)
    reach = float(np.degrees(np.arccos(np.clip(v @ c, -1, 1)).max()))
    if reach > 85.0:
        raise ValueError("object not within a view")
    f = focal_px(width)
    half = int(math.ceil(f * math.tan(math.radians(min(89.0, reach + 2.0)))))
    lon, lat = vec_to_lonlat(c)
    hfov = math.degrees(2 * math.atan(half / f))
    view = View(float(lon), float(lat), 0.0, hfov, 2 * half, 2 * half)
    sheet = Sheet(width, view)
    polys = [Polygon(sheet.from_lonlat(r)) for r in _rings(parts)]
    out = []
    for g in _planar_union(polys):
        if any(Polygon(h).area > 1.0 for h in g.interiors):
            raise HoleError("visible region has a hole")
        out.append(_piece(sheet, np.asarray(g.exterior.coords)[:-1]))
    return out


def _densify_ring(ring: np.ndarray, width: int) -> np.ndarray:
    """(lon, lat) points along a ring's great-circle edges, ≤ DENSIFY_PX apart in equirect
    (also in longitude near the poles)."""
    v = lonlat_to_vec(ring[:, 0], ring[:, 1])
    step = DENSIFY_PX * 2 * math.pi / width
    pts = []
    for a, b in zip(v, np.roll(v, -1, axis=0), strict=True):
        ang = math.acos(max(-1.0, min(1.0, float(a @ b))))
        # near a pole longitude moves faster than the arc: refine by the longitude swept
        la, _ = vec_to_lonlat(a)
        lb, _ = vec_to_lonlat(b)
        dlon = abs((float(lb) - float(la) + 180.0) % 360.0 - 180.0)
        n = max(1, int(math.ceil(max(ang / step, math.radians(dlon) / step))))
        pts.append(arc_points(a, b, n + 1)[:-1])
    lon, lat = vec_to_lonlat(np.concatenate(pts))
    return np.stack([lon, lat], axis=1)


def equirect_polygons(ring: np.ndarray, width: int) -> list[Polygon]:
    """A spherical ring's region on the equirect image, in pixel coordinates: split at the
    seam, closed along the top / bottom border when it contains a pole."""
    h = width // 2
    d = _densify_ring(ring, width)
    lon = d[:, 0]
    steps = (np.diff(np.append(lon, lon[0])) + 180.0) % 360.0 - 180.0
    unwrapped = lon[0] + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    winding = int(round(steps.sum() / 360.0))
    pts = np.stack([unwrapped, d[:, 1]], axis=1)
    if winding != 0:
        pole = 90.0 if contains([[ring.tolist()]], 0.0, 90.0) else -90.0
        end = lon[0] + 360.0 * winding
        pts = np.concatenate([pts, [[end, d[0, 1]], [end, pole], [lon[0], pole]]])
    region = shapely.make_valid(Polygon(pts))
    out = []
    for k in range(-2, 3):
        piece = region.intersection(box(-180.0 + 360 * k, -90.0, 180.0 + 360 * k, 90.0))
        if piece.is_empty:
            continue
        piece = shapely.affinity.translate(piece, -360.0 * k, 0.0)
        piece = shapely.affinity.affine_transform(
            piece, [width / 360.0, 0, 0, -h / 180.0, width / 2.0 - 0.5, h / 2.0 - 0.5]
        )
        for g in getattr(piece, "geoms", [piece]):
            if isinstance(g, Polygon) and g.area > 0:
                out.append(g)
    return out


def labelme_pieces(parts: list, width: int) -> list[Piece]:
    sheet = Sheet(width)
    polys = [p for r in _rings(parts) for p in equirect_polygons(r, width)]
    return [_piece(sheet, np.asarray(g.exterior.coords)[:-1]) for g in _planar_union(polys)]


def face_ring(view: View) -> list[list[float]]:
    s = view.width
    corners = np.array([[-0.5, -0.5], [s - 0.5, -0.5], [s - 0.5, s - 0.5], [-0.5, s - 0.5]])
    return view_polygon_to_sphere(corners, view)


def cubemap_pieces(parts: list, width: int) -> list[Piece]:
    """Pieces face by face on a plain 90° cubemap (exact spherical intersection per face)."""
    size = int(round(2 * focal_px(width)))
    rings = _rings(parts)
    v = np.concatenate([lonlat_to_vec(r[:, 0], r[:, 1]) for r in rings])
    c = _minimax_centre(v)
    reach = float(np.arccos(np.clip(v @ c, -1, 1)).max())
    out = []
    for view in cube_face_views(size, 90.0):
        axis = view.pixel_to_vec(size / 2 - 0.5, size / 2 - 0.5)
        if math.acos(float(np.clip(axis @ c, -1, 1))) > reach + math.radians(54.8):
            continue  # no point of the object is in this face's cap
        sheet = Sheet(width, view)
        square = face_ring(view)
        polys = []
        for part in parts:
            for q in intersection(part, [square]):
                polys.append(Polygon(sheet.from_lonlat(np.asarray(q[0], float))))
        out.extend(_piece(sheet, np.asarray(g.exterior.coords)[:-1]) for g in _planar_union(polys))
    return out


def pieces_for(mode: str, parts: list, width: int) -> list[Piece]:
    return {"ours": ours_pieces, "labelme": labelme_pieces, "cubemap": cubemap_pieces}[mode](
        parts, width
    )


# ----------------------------------------------------------------------------- candidates


def _dp_indices(pts: np.ndarray, eps: float) -> np.ndarray:
    """Douglas–Peucker vertices of a closed ring (indices, sorted)."""
    n = len(pts)
    far = int(np.argmax(((pts - pts[0]) ** 2).sum(axis=1)))
    keep = {0, far}
    stack = [(0, far), (far, n)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        a, b = pts[i], pts[j % n]
        mid = pts[i + 1 : j]
        ab = b - a
        L = math.hypot(*ab)
        if L == 0:
            d = np.hypot(*(mid - a).T)
        else:
            d = np.abs(ab[0] * (mid[:, 1] - a[1]) - ab[1] * (mid[:, 0] - a[0])) / L
        k = int(np.argmax(d))
        if d[k] > eps:
            keep.add(i + 1 + k)
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return np.array(sorted(keep))


def candidates(outline: np.ndarray) -> np.ndarray:
    """Candidate clicks along a closed outline, in outline order: Douglas–Peucker vertices
    (DP_PX, raised until ≤ MAX_DP) and N_EVEN points at equal spacing; none closer than
    0.25 px to the previous one."""
    seg = np.hypot(*(np.roll(outline, -1, axis=0) - outline).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    eps = DP_PX
    while True:
        dp = _dp_indices(outline, eps)
        if len(dp) <= MAX_DP:
            break
        eps *= 1.5
    pos = np.concatenate([s[dp], np.arange(N_EVEN) * total / N_EVEN])
    kind = np.concatenate([np.zeros(len(dp)), np.ones(N_EVEN)])
    closed = np.concatenate([outline, outline[:1]])
    xy = np.stack([np.interp(pos, s, closed[:, 0]), np.interp(pos, s, closed[:, 1])], axis=1)
    xy[: len(dp)] = outline[dp]
    order = np.lexsort((kind, pos))
    kept: list[int] = []
    for i in order:
        if kept and math.dist(xy[i], xy[kept[-1]]) < 0.25:
            if kind[i] == 0 and kind[kept[-1]] == 1:
                kept[-1] = i
            continue
        kept.append(i)
    while len(kept) > 3 and math.dist(xy[kept[-1]], xy[kept[0]]) < 0.25:
        kept.pop()
    return xy[kept]


def _piece(sheet: Sheet, outline: np.ndarray) -> Piece:
    """A piece with its candidates and its guidance grid (solid-angle weights, truth cover)."""
    piece = Piece(sheet, outline, candidates(outline))
    lo = outline.min(axis=0)
    hi = outline.max(axis=0)
    ext = np.maximum(hi - lo, 1e-3)
    n = np.clip(np.ceil(ext * CELLS_PER_PX), MIN_CELLS, MAX_CELLS).astype(int)
    step = ext / n
    piece.origin = (float(lo[0] - 0.5 * step[0]), float(lo[1] - 0.5 * step[1]))
    piece.step = (float(step[0]), float(step[1]))
    ny, nx = int(n[1]) + 2, int(n[0]) + 2
    xc = piece.origin[0] + np.arange(nx) * step[0]
    yc = piece.origin[1] + np.arange(ny) * step[1]
    dens = sheet.density(xc[None, :], yc[:, None])
    piece.w = np.ascontiguousarray(np.broadcast_to(dens, (ny, nx))) * step[0] * step[1]
    ss = SUPERSAMPLE
    sub = (piece.cells(outline) + 0.5) * ss - 0.5
    cover = _parity_fill(sub[:, 0].copy(), sub[:, 1].copy(), ny * ss, nx * ss)
    cover = cover.reshape(ny, ss, nx, ss).mean(axis=(1, 3))
    piece.wc = piece.w * cover
    piece.truth = float(piece.wc.sum())
    return piece


# ----------------------------------------------------------------------------- reference IoU


def row_solid_angles(width: int) -> np.ndarray:
    """Exact solid angle of one pixel in each row of the W × W/2 equirect grid."""
    h = width // 2
    edges = np.radians(90.0 - np.arange(h + 1) * 180.0 / h)
    return (2 * math.pi / width) * (np.sin(edges[:-1]) - np.sin(edges[1:]))


def weighted_iou(drawn: np.ndarray, truth: np.ndarray, rows: np.ndarray) -> float:
    inter = np.count_nonzero(drawn & truth, axis=1) @ rows
    uni = np.count_nonzero(drawn | truth, axis=1) @ rows
    return float(inter / uni) if uni > 0 else 0.0


def drawn_mask(mode: str, polygons: list[tuple[Sheet, np.ndarray]], width: int) -> np.ndarray:
    """The drawn region on the equirect grid: rasterised spherical polygons, or the even-odd
    fill of LabelMe's pixel polygons."""
    h = width // 2
    mask = np.zeros((h, width), bool)
    for sheet, xy in polygons:
        if mode == "labelme":
            mask |= _parity_fill(xy[:, 0].copy(), xy[:, 1].copy(), h, width).astype(bool)
        else:
            mask |= rasterize([sheet.to_lonlat(xy).tolist()], width, h)
    return mask


# ----------------------------------------------------------------------------- the annotator


@dataclass
class Result:
    mode: str
    clicks: int
    reached: bool
    iou: float  # reference IoU of the final polygons
    polygons: list  # [(Sheet, (k, 2) clicked points in sheet coordinates)]
    pieces: int  # pieces of the truth in this mode's drawing space
    drawn: int  # polygons drawn


class State:
    def __init__(self, piece: Piece, pair: tuple[int, int] | None = None) -> None:
        """A piece before its first click. ``pair`` opens it with those two candidates and no
        valued openings (the caller inserts its own first vertices)."""
        self.piece = piece
        self.cand = piece.cells(piece.cand)
        self.chosen = np.zeros(0, np.int64)
        self.p = np.zeros(piece.w.shape, np.uint8)
        m = len(self.cand)
        self.da = np.zeros(m)
        self.di = np.zeros(m)
        self.valid = np.zeros(m, bool)
        given = pair is not None
        if pair is None:
            # opening: the two farthest-apart candidates (sheet coordinates)
            d = ((piece.cand[:, None, :] - piece.cand[None, :, :]) ** 2).sum(axis=2)
            pair = np.unravel_index(int(np.argmax(d)), d.shape)
        self.pair = np.array(sorted((int(pair[0]), int(pair[1]))), np.int64)
        self.rescan(self.pair)
        self.openings = [] if given else self._rollout()

    def _rollout(self) -> list[tuple[int, float, float, list[int]]]:
        """Ways to open this piece: its own greedy trace (the pair, then the click that most
        raises the piece's IoU, …), as prefixes (clicks, ΔA, ΔI, candidates after the pair).
        Opening is then valued like any action, by IoU gain per click — a thin curved piece
        (a band across the seam) gains only after several clicks, not after its first three."""
        trial = self.clone()
        truth = self.piece.truth
        area = inter = 0.0
        out = []
        picks: list[int] = []
        while 2 + len(picks) < ROLLOUT_CLICKS:
            c, val = _best_single(trial, inter, area, truth)
            current = inter / (area + truth - inter) if area > 0 else 0.0
            if not trial.valid[c] or val <= current + 1e-12:
                break
            da, di = trial.insert(c)
            area += da
            inter += di
            picks.append(c)
            out.append((2 + len(picks), area, inter, list(picks)))
            if val >= ROLLOUT_IOU:
                break
        return out

    def rescan(self, chosen: np.ndarray) -> None:
        _scan_candidates(self.cand, chosen, self.p, self.piece.w, self.piece.wc, *self.scan)

    @property
    def scan(self):
        return self.da, self.di, self.valid

    def insert(self, c: int) -> tuple[float, float]:
        """Insert candidate c (opening with the pair first if needed); returns (ΔA, ΔI)."""
        chosen = self.pair if len(self.chosen) == 0 else self.chosen
        k = int(np.searchsorted(chosen, c))
        a, b = chosen[(k - 1) % len(chosen)], chosen[k % len(chosen)]
        tri = self.cand[[a, c, b]]
        da, di = _tri_delta(tri[:, 0].copy(), tri[:, 1].copy(), self.p, self.piece.w,
                            self.piece.wc, True)  # fmt: skip
        self.chosen = np.insert(chosen, k, c)
        self.rescan(self.chosen)
        return da, di

    def clone(self) -> State:
        other = object.__new__(State)
        other.__dict__.update(self.__dict__)
        for name in ("chosen", "p", "da", "di", "valid"):
            setattr(other, name, getattr(self, name).copy())
        return other

    def polygon(self) -> np.ndarray:
        return self.piece.cand[self.chosen]


def _best_single(s: State, inter: float, area: float, truth: float) -> tuple[int, float]:
    ni = inter + s.di
    na = area + s.da
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(s.valid, ni / (na + truth - ni), -np.inf)
    c = int(np.argmax(val))
    return c, float(val[c])


def _two_clicks(states: list[State], inter: float, area: float, truth: float, current: float):
    """When no single click helps (a narrow notch has to be traced with two vertices):
    the best pair of clicks in one open piece, as (gain per click, piece, 2, [c1, c2])."""
    best = None
    for k, s in enumerate(states):
        if len(s.chosen) < 3:
            continue
        for c1 in np.flatnonzero(s.valid):
            trial = s.clone()
            da, di = trial.insert(int(c1))
            c2, val = _best_single(trial, inter + di, area + da, truth)
            if not trial.valid[c2]:
                continue
            per_click = (val - current) / 2
            if per_click > 1e-12 and (best is None or per_click > best[0]):
                best = (per_click, k, 2, [int(c1), c2])
    return best


def simulate(
    parts: list,
    mode: str,
    width: int = 2048,
    truth_mask: np.ndarray | None = None,
    cap: int = CAP_CLICKS,
    target: float = TARGET_IOU,
    pieces: list[Piece] | None = None,
) -> Result:
    """Clicks the simulated annotator needs for one instance in one mode (``pieces``: the
    mode's ``pieces_for`` of the instance, when the caller has them)."""
    if pieces is None:
        pieces = pieces_for(mode, parts, width)
    if truth_mask is None:
        truth_mask = rasterize(parts, width, width // 2)
    states = [State(p) for p in pieces]
    return greedy(mode, states, 0.0, 0.0, 0, width, truth_mask, cap, target)


def greedy(
    mode: str,
    states: list[State],
    inter: float,
    area: float,
    clicks: int,
    width: int,
    truth_mask: np.ndarray,
    cap: int,
    target: float,
) -> Result:
    """Click on from the given polygons (guidance intersection and area so far, clicks spent)
    until the reference IoU reaches the target or no action fits or gains."""
    rows = row_solid_angles(width)
    truth = sum(s.piece.truth for s in states)
    ref = 0.0
    reached = False

    def drawn() -> list:
        return [(s.piece.sheet, s.polygon()) for s in states if len(s.chosen) >= 3]

    while True:
        if clicks and inter / (area + truth - inter) >= GATE:
            ref = weighted_iou(drawn_mask(mode, drawn(), width), truth_mask, rows)
            if ref >= target:
                reached = True
                break
        current = inter / (area + truth - inter) if area > 0 else 0.0
        best = None  # (gain per click, piece, clicks, candidates to insert)
        for k, s in enumerate(states):
            if not len(s.chosen):
                for n, da, di, picks in s.openings:
                    if clicks + n > cap:
                        break
                    val = (inter + di) / (area + da + truth - inter - di)
                    per_click = (val - current) / n
                    if per_click > 1e-12 and (best is None or per_click > best[0]):
                        best = (per_click, k, n, picks)
                continue
            cost = 1
            if clicks + cost > cap:
                continue
            c, val = _best_single(s, inter, area, truth)
            if not s.valid[c]:
                continue
            per_click = (val - current) / cost
            if per_click > 1e-12 and (best is None or per_click > best[0]):
                best = (per_click, k, cost, [c])
        if best is None and clicks + 2 <= cap:
            best = _two_clicks(states, inter, area, truth, current)
        if best is None:
            break
        _, k, cost, picks = best
        for c in picks:
            da, di = states[k].insert(c)
            area += da
            inter += di
        clicks += cost
    if not reached:
        polys = drawn()
        ref = weighted_iou(drawn_mask(mode, polys, width), truth_mask, rows) if polys else 0.0
    states_drawn = drawn()
    return Result(mode, clicks, reached, ref, states_drawn, len(states), len(states_drawn))
