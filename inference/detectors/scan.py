"""Detection on the sphere: run a planar detector on rectilinear views of a panorama, map its
boxes, quads and landmarks back as spherical polygons and points, merge duplicates.

1. **Coarse scan** — the views of :func:`.layout.scan_views` (a pyramid of ring layouts
   chosen for the detector's scale: every object of the wanted sizes is seen whole and
   upright in some view), each rendered from a copy of the panorama reduced to about the
   view's resolution.
2. Each detection's quad becomes a spherical polygon: the straight edges of a view are great
   circles, so the four corners mapped through the view are the exact region. Its *trust*
   is score × cos(angle from the view's axis), halved when it touches the view's border.
3. **Non-maximum suppression on the sphere** — candidates near each other (overlapping
   bounding caps) are merged with the pre-labelling merge
   (:func:`inference.prelabel.merge.merge_duplicates`: spherical IoU ≥ 0.5, or 80 % of
   the smaller one covered), most trusted first.
4. **Fine pass** — a view looking straight at each survivor, the object at the detector's
   preferred pixel size: the detection there that overlaps the candidate replaces it (a
   better box, landmarks, and the text read at that resolution); candidates the fine view
   does not confirm are dropped when the adapter asks for confirmation. A last NMS merges
   candidates that refined to the same object.

Views are rendered with the geometry core (:func:`label360.sphere.equirect_to_view`: seam
and poles are continuous), so nothing special happens at ±180° or at the poles.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np

from inference.prelabel.merge import Suggestion, merge_duplicates
from label360.sphere import GeometryError, View, equirect_to_view, iou, validate_geometry
from label360.sphere.vectors import vec_to_lonlat

from .adapters import Adapter, RawDetection
from .layout import focus_view, scan_views

Progress = Callable[[float, str], None]


@dataclass
class Detection:
    """A detection on the sphere."""

    kind: str
    geometry: list  # [[ring]] spherical polygon, great-circle edges
    score: float
    size_deg: float
    centre: tuple[float, float]
    landmarks: list[list[float]] | None = None  # [[lon, lat], ...]
    text: str = ""
    text_score: float = 0.0
    views: int = 1
    refined: bool = False
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "geometry": self.geometry,
            "score": round(self.score, 4),
            "size_deg": round(self.size_deg, 3),
            "centre": [round(self.centre[0], 5), round(self.centre[1], 5)],
            "landmarks": self.landmarks,
            "text": self.text,
            "text_score": round(self.text_score, 4),
            "views": self.views,
            "refined": self.refined,
        }


@dataclass
class ScanStats:
    views: int = 0
    view_pixels: int = 0
    fine_views: int = 0
    candidates: int = 0
    seconds: dict = field(default_factory=dict)


class EquirectPyramid:
    """The panorama and its 2×-reduced copies (area averaged), made on demand, so each view is
    rendered from a copy at about its own resolution (no aliasing, no repeated reduction)."""

    def __init__(self, image: np.ndarray) -> None:
        self.levels = [np.ascontiguousarray(image)]

    def for_focal(self, focal: float) -> np.ndarray:
        """The smallest copy whose angular pixel is no coarser than the view's (1 / focal)."""
        k = 0
        while (self.levels[0].shape[1] >> (k + 1)) / (2.0 * math.pi) >= focal:
            k += 1
        while len(self.levels) <= k:
            prev = self.levels[-1]
            h, w = prev.shape[0] // 2, prev.shape[1] // 2
            self.levels.append(cv2.resize(prev, (w, h), interpolation=cv2.INTER_AREA))
        return self.levels[k]

    @property
    def width(self) -> int:
        return self.levels[0].shape[1]


def render(pyramid: EquirectPyramid, view: View) -> np.ndarray:
    source = pyramid.for_focal(view.focal)
    return equirect_to_view(
        source, view.yaw, view.pitch, view.roll, view.hfov, view.width, view.height
    )


def parallel_map(fn, items, workers: int | None):
    """``fn`` over ``items`` in a thread pool, results in input order, yielded as they come
    (so the caller reports progress per item from its own thread)."""
    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, items)


@contextmanager
def single_threaded_kernels():
    """torch and OpenCV kernels on one thread each while views run in parallel threads:
    one view per core scales better than each view's small operations split over cores
    (and does not stall when other processes hold the cores)."""
    import torch

    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)


def _angular_size(view: View, quad: np.ndarray) -> float:
    """Angle (degrees) spanned by the longer pair of opposite sides of a quad in a view."""
    v = view.pixel_to_vec(quad[:, 0], quad[:, 1])

    def ang(a, b):
        return math.degrees(math.acos(float(np.clip(np.dot(a, b), -1.0, 1.0))))

    return max((ang(v[0], v[1]) + ang(v[3], v[2])) / 2.0, (ang(v[1], v[2]) + ang(v[0], v[3])) / 2.0)


def to_sphere(view: View, raw: RawDetection, kind: str, border_px: float = 1.0):
    """One view detection as a merge candidate (a :class:`Suggestion`), or None if degenerate."""
    quad = np.asarray(raw.quad, np.float64)
    lon, lat = view.pixel_to_lonlat(quad[:, 0], quad[:, 1])
    ring = np.stack([lon, lat], axis=1)
    try:
        geometry = [[ring.tolist()]]
        validate_geometry(geometry)
    except GeometryError:
        return None
    centre_xy = quad.mean(axis=0)
    c_vec = view.pixel_to_vec(centre_xy[0], centre_xy[1])
    ray = view.pixel_to_ray(centre_xy[0], centre_xy[1])
    cos_axis = 1.0 / float(np.linalg.norm(ray))
    trust = float(raw.score) * cos_axis
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    if (
        lo[0] <= border_px - 0.5
        or lo[1] <= border_px - 0.5
        or hi[0] >= view.width - 0.5 - border_px
        or hi[1] >= view.height - 0.5 - border_px
    ):
        trust *= 0.5  # probably cut off by the border: prefer a copy seen whole
    extra = {
        "size_deg": _angular_size(view, quad),
        "centre_vec": c_vec,
        "text": raw.text,
        "text_score": raw.text_score,
        "quad": quad,
        "view": view,
    }
    if raw.points is not None:
        plon, plat = view.pixel_to_lonlat(raw.points[:, 0], raw.points[:, 1])
        extra["landmarks"] = np.stack([plon, plat], axis=1).tolist()
    return Suggestion(kind, geometry, float(raw.score), trust, extra)


def spherical_nms(candidates: list[Suggestion]) -> list[Suggestion]:
    """Merge duplicates on the sphere: candidates whose bounding caps overlap are grouped
    (union-find), each group goes through :func:`merge_duplicates` (spherical IoU)."""
    n = len(candidates)
    if n <= 1:
        return list(candidates)
    centres = np.stack([c.extra["centre_vec"] for c in candidates])
    # bounding cap radius: half the quad's diagonal, generously (the size is of the longer side)
    radii = np.radians([c.extra["size_deg"] * 0.75 + 0.05 for c in candidates])
    cosang = np.clip(centres @ centres.T, -1.0, 1.0)
    near = np.arccos(cosang) < radii[:, None] + radii[None, :]
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in zip(*np.nonzero(np.triu(near, 1)), strict=True):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[Suggestion]] = {}
    for k, cand in enumerate(candidates):
        groups.setdefault(find(k), []).append(cand)
    out = []
    for group in groups.values():
        out.extend(merge_duplicates(group) if len(group) > 1 else group)
    return out


def _as_detection(s: Suggestion, refined: bool) -> Detection:
    lon, lat = vec_to_lonlat(s.extra["centre_vec"])
    return Detection(
        kind=s.class_name,
        geometry=s.geometry,
        score=float(s.score),
        size_deg=float(s.extra["size_deg"]),
        centre=(float(lon), float(lat)),
        landmarks=s.extra.get("landmarks"),
        text=s.extra.get("text", ""),
        text_score=float(s.extra.get("text_score", 0.0)),
        views=int(s.extra.get("views", 1)),
        refined=refined,
    )


def detect_on_sphere(
    image: np.ndarray,
    adapter: Adapter,
    *,
    fine: bool = True,
    progress: Progress | None = None,
    stats: ScanStats | None = None,
    pyramid: EquirectPyramid | None = None,
    workers: int | None = None,
) -> list[Detection]:
    """All detections of ``adapter`` in an equirect RGB uint8 panorama (H, W, 3).

    Views are processed by ``workers`` threads (default: the CPU count, at most 4), each
    running the detector's kernels single-threaded; ``progress`` is called from the calling
    thread after each view."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError("detect_on_sphere needs an (H, W, 3) uint8 RGB equirect image")
    stats = stats if stats is not None else ScanStats()
    pyramid = pyramid or EquirectPyramid(image)
    width = pyramid.width
    plan = scan_views(adapter.scale, width)
    total = sum(len(views) for _level, views in plan)
    report = progress or (lambda fraction, message: None)
    coarse_share = 0.8 if fine else 1.0
    candidates: list[Suggestion] = []
    jobs = [(level.pixel_range(), view) for level, views in plan for view in views]

    def look(job):
        px_range, view = job
        pixels = render(pyramid, view)
        found = adapter.detect(pixels, px_range, recognise=not fine)
        return view, [c for c in (to_sphere(view, r, adapter.kind) for r in found) if c]

    t0 = time.perf_counter()
    with single_threaded_kernels():
        for done, (view, found) in enumerate(parallel_map(look, jobs, workers), start=1):
            candidates.extend(found)
            stats.views += 1
            stats.view_pixels += view.width * view.height
            report(coarse_share * done / total, f"{adapter.kind}: view {done}/{total}")
    stats.candidates += len(candidates)
    merged = spherical_nms(candidates)
    stats.seconds[f"{adapter.kind}_coarse"] = time.perf_counter() - t0
    if not fine:
        return [_as_detection(s, refined=False) for s in sorted(merged, key=lambda s: -s.score)]
    t1 = time.perf_counter()
    refined: list[Suggestion] = []
    with single_threaded_kernels():
        results = parallel_map(lambda c: (c, refine(pyramid, adapter, c)), merged, workers)
        for k, (cand, better) in enumerate(results, start=1):
            stats.fine_views += 1
            if better is not None:
                better.extra["views"] = cand.extra.get("views", 1)
                better.extra["refined"] = True
                refined.append(better)
            elif not adapter.confirm:
                cand.extra["refined"] = False
                refined.append(cand)
            report(
                coarse_share + (1 - coarse_share) * k / len(merged),
                f"{adapter.kind}: fine view {k}/{len(merged)}",
            )
    final = spherical_nms(refined)
    stats.seconds[f"{adapter.kind}_fine"] = time.perf_counter() - t1
    return [
        _as_detection(s, refined=bool(s.extra.get("refined")))
        for s in sorted(final, key=lambda s: -s.score)
    ]


def refine(pyramid: EquirectPyramid, adapter: Adapter, cand: Suggestion) -> Suggestion | None:
    """Look straight at a candidate; the detection there that overlaps it most (spherical IoU
    ≥ ``adapter.confirm_iou``), or None."""
    view = focus_view(
        cand.extra["centre_vec"], cand.extra["size_deg"], adapter.scale, pyramid.width
    )
    pixels = render(pyramid, view)
    size_px = cand.extra["size_deg"] * math.pi / 180.0 * view.focal
    best, best_iou = None, adapter.confirm_iou
    for raw in adapter.detect(pixels, (size_px / 2.0, size_px * 2.0), recognise=True):
        other = to_sphere(view, raw, adapter.kind)
        if other is None:
            continue
        overlap = iou(other.geometry, cand.geometry)
        if overlap >= best_iou:
            best, best_iou = other, overlap
    return best
