"""The simulated annotator's shape tools (``bench/effort.py``): what each mode draws besides
the polygon, and ours' upright rectangle refined into a polygon with the Edit tool.

* ours — the ellipse tool and the upright rectangle, exactly as ``label360.sphere.shapes``
  makes them for the UI; the rectangle can then be refined (``rectangle_then_edit``);
* LabelMe — its circle and rectangle on the equirect image (they stay circles and rectangles);
* cubemap — a generic tool's ellipse and rectangle in the face.

The drawing spaces, candidate clicks, greedy and reference IoU are ``effort_sim``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from effort_sim import (
    CAP_CLICKS,
    TARGET_IOU,
    Piece,
    Result,
    State,
    greedy,
    ours_pieces,
    pieces_for,
    row_solid_angles,
    weighted_iou,
)
from shapely.geometry import Polygon

from label360.sphere import GeometryError, rasterize
from label360.sphere.shapes import ellipse_ring, upright_rectangle

#: the tools each mode has besides the polygon, with their clicks: ours, the ellipse tool in
#: the view (the ends of an axis, one more outline point) and the upright rectangle (two
#: opposite corners); LabelMe's circle (centre, a point of the circumference) and rectangle
#: (two corners) on the equirect image; on a plain cubemap, a generic tool's ellipse and
#: rectangle in the face
SHAPE_TOOLS = {
    "ours": (("ellipse", 3), ("rectangle", 2)),
    "labelme": (("circle", 2), ("rectangle", 2)),
    "cubemap": (("ellipse", 3), ("rectangle", 2)),
}


@dataclass
class ShapeResult:
    mode: str
    tool: str
    clicks: int
    iou: float  # reference IoU of the best of the tool's tries (0 when it cannot be used)


def _ellipse_tries(piece: Piece) -> list[list[list[float]]]:
    """Rings an annotator makes with the ellipse tool: the two farthest-apart outline points as
    the axis, then the outline point farthest from the axis on either side."""
    cand = piece.cand
    d = ((cand[:, None, :] - cand[None, :, :]) ** 2).sum(axis=2)
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    a, b = cand[i], cand[j]
    u = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
    across = (cand - a) @ np.array([-u[1], u[0]])
    view = piece.sheet.view

    def click(xy: np.ndarray) -> list[float]:
        lon, lat = view.pixel_to_lonlat(xy[0], xy[1])
        return [float(lon), float(lat)]

    rings = []
    for k in (int(np.argmax(across)), int(np.argmin(across))):
        ring = ellipse_ring(view, click(a), click(b), click(cand[k]))
        if ring is not None:
            rings.append(ring)
    return rings


def _circle_masks(piece: Piece, width: int) -> list[np.ndarray]:
    """LabelMe circles on the equirect image: centred on the outline's area centroid, through
    outline points at the quartiles of their distance from it (pixel centres inside)."""
    h = width // 2
    poly = Polygon(piece.outline)
    cx, cy = poly.centroid.x, poly.centroid.y
    dist = np.hypot(piece.cand[:, 0] - cx, piece.cand[:, 1] - cy)
    ys, xs = np.mgrid[0:h, 0:width]
    r2 = (xs - cx) ** 2 + (ys - cy) ** 2
    return [r2 <= r * r for r in np.quantile(dist, [0.0, 0.25, 0.5, 0.75, 1.0])]


def _upright_rectangle_masks(piece: Piece, width: int) -> list[np.ndarray]:
    """Our upright rectangles: two opposite corners of the outline, clicked on either diagonal
    (``_diagonal_corners``)."""
    ll = piece.sheet.to_lonlat(piece.cand)
    masks = []
    for a, b in _diagonal_corners(ll):
        ring = upright_rectangle(ll[a].tolist(), ll[b].tolist())
        if ring is not None:
            masks.append(rasterize([[ring]], width, width // 2))
    return masks


def _rectangle_mask(piece: Piece, width: int) -> np.ndarray:
    """The outline's bounding box, clicked at two corners: on the equirect image the pixel
    centres inside it; in a cube face a four-corner polygon (straight edges: great circles)."""
    (x0, y0), (x1, y1) = piece.outline.min(axis=0), piece.outline.max(axis=0)
    h = width // 2
    if piece.sheet.view is None:
        ys, xs = np.mgrid[0:h, 0:width]
        return (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    lon, lat = piece.sheet.view.pixel_to_lonlat(corners[:, 0], corners[:, 1])
    return rasterize([[np.stack([lon, lat], axis=1).tolist()]], width, h)


def shape_tools(
    parts: list,
    mode: str,
    width: int = 2048,
    truth_mask: np.ndarray | None = None,
    pieces: list[Piece] | None = None,
) -> list[ShapeResult]:
    """Each of the mode's shape tools on one instance: its best reference IoU over the clicks
    an annotator would make (a tool draws one outline: an instance in several pieces in the
    mode's drawing space — across the seam, over a cube edge — cannot use it)."""
    h = width // 2
    if truth_mask is None:
        truth_mask = rasterize(parts, width, h)
    rows = row_solid_angles(width)
    if pieces is None:
        pieces = pieces_for(mode, parts, width)
    out = []
    for tool, clicks in SHAPE_TOOLS[mode]:
        if len(pieces) != 1:
            out.append(ShapeResult(mode, tool, clicks, 0.0))
            continue
        if tool == "circle":
            masks = _circle_masks(pieces[0], width)
        elif tool == "rectangle" and mode == "ours":
            masks = _upright_rectangle_masks(pieces[0], width)
        elif tool == "rectangle":
            masks = [_rectangle_mask(pieces[0], width)]
        else:
            masks = [rasterize([[ring]], width, h) for ring in _ellipse_tries(pieces[0])]
        best = max((weighted_iou(m, truth_mask, rows) for m in masks), default=0.0)
        out.append(ShapeResult(mode, tool, clicks, best))
    return out


def _diagonal_corners(ll: np.ndarray) -> list[tuple[int, int]]:
    """Outline points an annotator clicks as opposite corners of an upright rectangle: the ones
    farthest out along either diagonal, in longitude and latitude scaled to the extent."""
    lon = (ll[:, 0] - ll[0, 0] + 180.0) % 360.0 - 180.0  # unwrapped round the outline
    x = (lon - lon.min()) / max(float(np.ptp(lon)), 1e-9)
    y = (ll[:, 1] - ll[:, 1].min()) / max(float(np.ptp(ll[:, 1])), 1e-9)
    return [(int(np.argmax(-sx * x + y)), int(np.argmax(sx * x - y))) for sx in (1.0, -1.0)]


def rectangle_then_edit(
    parts: list,
    width: int = 2048,
    truth_mask: np.ndarray | None = None,
    cap: int = CAP_CLICKS,
    target: float = TARGET_IOU,
    pieces: list[Piece] | None = None,
) -> Result | None:
    """Ours only: an upright rectangle (two corner clicks on the outline), then vertices
    inserted on its edges with the Edit tool (a click on an edge and a drag to the outline:
    one click each), greedily like any polygon. Our rectangle is an ordinary polygon, so it can
    be refined; LabelMe's and a generic cubemap tool's rectangles stay rectangles. The better
    of the two diagonals; None for an instance in several pieces."""
    if pieces is None:
        pieces = ours_pieces(parts, width)
    if len(pieces) != 1:
        return None
    if truth_mask is None:
        truth_mask = rasterize(parts, width, width // 2)
    piece = pieces[0]
    ll = piece.sheet.to_lonlat(piece.cand)
    best: Result | None = None
    for ia, ib in _diagonal_corners(ll):
        ring = upright_rectangle(ll[ia].tolist(), ll[ib].tolist())
        if ring is None:
            continue
        # the two other corners join the candidates, one on each side of the outline between
        # the clicked corners (the pairing that puts them nearer), after the nearest point there
        n = len(piece.cand)
        lo, hi = sorted((ia, ib))
        arcs = (np.arange(lo + 1, hi), np.concatenate([np.arange(hi + 1, n), np.arange(0, lo)]))

        def gap(c: np.ndarray, arc: np.ndarray) -> float:
            return float(((piece.cand[arc] - c) ** 2).sum(axis=1).min()) if len(arc) else np.inf

        c1, c2 = piece.sheet.from_lonlat(np.asarray([ring[1], ring[3]], float))
        if gap(c1, arcs[0]) + gap(c2, arcs[1]) > gap(c2, arcs[0]) + gap(c1, arcs[1]):
            c1, c2 = c2, c1
        after, same = {}, {}
        for j, (c, arc, fallback) in enumerate(((c1, arcs[0], lo), (c2, arcs[1], hi))):
            if not len(arc):
                after[fallback] = (j, c)
                continue
            near = ((piece.cand[arc] - c) ** 2).sum(axis=1)
            k = int(arc[np.argmin(near)])
            if near.min() < 0.25**2:  # the corner is an outline point already: click it
                same[j] = k
            else:
                after[k] = (j, c)
        points, index = [], {}
        for k in range(n):
            index[("c", k)] = len(points)
            points.append(piece.cand[k])
            if k in after:
                j, c = after[k]
                index[("x", j)] = len(points)
                points.append(c)
        for j, k in same.items():
            index[("x", j)] = index[("c", k)]
        new_cand = np.array(points)
        aug = replace(piece, cand=new_cand)
        state = State(aug, pair=(index[("c", ia)], index[("c", ib)]))
        inter = area = 0.0
        for j in (0, 1):
            da, di = state.insert(index[("x", j)])
            area += da
            inter += di
        try:
            r = greedy("ours", [state], inter, area, 2, width, truth_mask, cap, target)
        except GeometryError:  # a degenerate rectangle for this outline: not this diagonal
            continue
        if r.reached and (best is None or not best.reached or r.clicks < best.clicks):
            best = r
        elif best is None:
            best = r
    return best
