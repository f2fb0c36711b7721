"""Which rectilinear views a detector looks through, chosen for the detector's scale.

A detector finds objects over a range of sizes in *pixels* (MTCNN: faces from ~20 px; DB
text: lines from ~8 px high) and only in some orientations (MTCNN: upright faces, within
about ±20°). On the sphere objects have sizes in *degrees*, and "upright" means along the
local meridian. :class:`Scale` says what the detector needs; :func:`scan_views` returns views
such that **every** object of the wanted sizes, anywhere on the sphere (poles and seam
included), is seen

* whole — its direction lies at least half its size inside the view's frustum,
* at a pixel size the detector finds — at most ``span`` times its smallest size,
* upright — the local meridian tilted at most ``max_tilt`` in the image (within
  ``POLAR_CAP`` of a pole there is no "up"; only the first condition is asked there).

Sizes are split into levels, each twice the size of the one before at half the focal
length (a pyramid on the sphere): level k sees sizes ``[s_k, span·s_k]``, ``s_k = 2^k·min_deg``,
with ``f_k = min_px / s_k`` (never finer than the panorama itself). Each level's views are a
weighted greedy set cover: candidate square views (pitch every 5°, yaw every 10°, several
fields of view; roll 0 so that "up" stays up) are picked by newly covered solid angle per
pixel until a grid of directions is covered. The layout depends only on angles, so it is
computed once per scale (cached); :func:`coverage_margin` and the tests check it on directions
that the search never saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from label360.sphere import View
from label360.sphere.clipping import frustum_planes

#: never render views with more pixels per radian than the panorama has (times this)
MAX_OVERSAMPLING = 1.0
#: the fine pass may look closer than the panorama's resolution: a small word or face is
#: upsampled to the size the detector (and the text recogniser) works best at
FOCUS_OVERSAMPLING = 3.0
#: within this many degrees of a pole an object has no "up": only the whole-object test applies
POLAR_CAP = 4.0
_PITCH_STEP = 2.5
_HALF_FOVS = (15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0, 70.0)


@dataclass(frozen=True)
class Scale:
    """Object sizes a detector is asked to find, and how it must see them.

    ``min_deg`` / ``max_deg``: smallest / largest object wanted (degrees across);
    ``min_px``: smallest object the detector finds (pixels); ``span``: size range one level
    covers (the detector's pyramid inside a view handles this range); ``max_tilt``: largest
    in-image rotation the detector tolerates (degrees; 180 = any); ``focus_px``: the
    object's size in a fine-pass view.
    """

    min_deg: float
    max_deg: float
    min_px: float
    span: float = 2.5
    max_tilt: float = 180.0
    focus_px: float = 80.0

    def __post_init__(self) -> None:
        if not (0 < self.min_deg <= self.max_deg <= 120):
            raise ValueError("need 0 < min_deg <= max_deg <= 120")
        if self.span < 2.0 or self.min_px <= 0:
            raise ValueError("span must be at least 2 and min_px positive")

    def levels(self, source_width: int) -> list[Level]:
        """The pyramid levels for a panorama ``source_width`` pixels wide."""
        f_max = MAX_OVERSAMPLING * source_width / (2.0 * math.pi)
        # objects smaller than min_px at the panorama's own resolution cannot be found at all
        out, size = [], max(self.min_deg, math.degrees(self.min_px / f_max))
        while True:
            top = max(min(size * self.span, self.max_deg), size)
            f = min(self.min_px / math.radians(size), f_max)
            out.append(Level(size, top, f))
            if top >= self.max_deg:
                return out
            size *= 2.0


@dataclass(frozen=True)
class Level:
    """One level of the pyramid: objects from ``min_deg`` to ``max_deg``, views of focal ``focal``."""

    min_deg: float
    max_deg: float
    focal: float

    def pixel_range(self) -> tuple[float, float]:
        """Object sizes of this level in view pixels (at the view centre)."""
        return (
            self.focal * math.radians(self.min_deg),
            self.focal * 2.0 * math.tan(math.radians(self.max_deg) / 2.0) * 1.05,
        )


def fibonacci_directions(n: int) -> np.ndarray:
    """n nearly uniform unit vectors (a Fibonacci spiral, both poles included)."""
    k = np.arange(n, dtype=np.float64)
    y = 1.0 - 2.0 * k / (n - 1)
    r = np.sqrt(np.maximum(0.0, 1.0 - y * y))
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([r * np.sin(phi), y, r * np.cos(phi)], axis=1)


def _north(dirs: np.ndarray) -> np.ndarray:
    """Unit tangent towards the north pole at each direction (zero at the poles)."""
    up = np.array([0.0, 1.0, 0.0])
    t = up - dirs * dirs[:, 1:2]
    n = np.linalg.norm(t, axis=1, keepdims=True)
    return np.where(n > 1e-12, t / np.maximum(n, 1e-12), 0.0)


def view_fit(view: View, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each direction: its angular distance (degrees) inside the view's frustum (negative
    outside; the radius of the largest cap about it seen whole), and the tilt (degrees) of
    the local meridian in the image (0 = north is straight up)."""
    rot = view.rotation()
    cam = dirs @ rot  # world → camera frame (R is camera → world)
    planes = np.stack([n / np.linalg.norm(n) for n in frustum_planes(view)])
    margin = np.degrees(np.arcsin(np.clip((cam @ planes.T).min(axis=1), -1.0, 1.0)))
    margin[cam[:, 2] <= 1e-9] = -90.0
    north = _north(dirs) @ rot
    z = np.where(np.abs(cam[:, 2]) > 1e-9, cam[:, 2], 1e-9)
    dx = (north[:, 0] * z - cam[:, 0] * north[:, 2]) / z**2
    dy = (north[:, 1] * z - cam[:, 1] * north[:, 2]) / z**2
    tilt = np.degrees(np.abs(np.arctan2(dx, dy)))
    return margin, tilt


def _fits(view: View, dirs: np.ndarray, radius: float, max_tilt: float) -> np.ndarray:
    margin, tilt = view_fit(view, dirs)
    lat = np.degrees(np.arcsin(np.clip(dirs[:, 1], -1.0, 1.0)))
    upright = (tilt <= max_tilt) | (np.abs(lat) >= 90.0 - POLAR_CAP)
    return (margin >= radius) & upright


def coverage_margin(views: list[View], dirs: np.ndarray, max_tilt: float = 180.0) -> np.ndarray:
    """For each direction, the largest cap radius (degrees) some view sees whole and upright
    (within ``max_tilt``; any tilt within ``POLAR_CAP`` of a pole)."""
    lat = np.degrees(np.arcsin(np.clip(dirs[:, 1], -1.0, 1.0)))
    polar = np.abs(lat) >= 90.0 - POLAR_CAP
    best = np.full(len(dirs), -90.0)
    for view in views:
        margin, tilt = view_fit(view, dirs)
        ok = (tilt <= max_tilt) | polar
        best = np.maximum(best, np.where(ok, margin, -90.0))
    return best


_PHI = np.arange(0.0, 90.0 + 1e-9, 1.0)  # latitudes checked (north; layouts are mirrored)
_LAMBDA = np.arange(0.0, 180.0 + 1e-9, 1.0)  # longitude offsets from a view's yaw


def _half_widths(pitch: float, radius: float, max_tilt: float) -> list[np.ndarray]:
    """Per half-FOV of ``_HALF_FOVS`` and latitude of ``_PHI``: how far in longitude (degrees,
    either side of its yaw) a view at ``pitch`` sees directions whole (``radius``) and upright;
    0 where it sees none."""
    lon, lat = np.meshgrid(np.radians(_LAMBDA), np.radians(_PHI))
    dirs = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=-1)
    dirs = dirs.reshape(-1, 3)
    # tilt and camera coordinates do not depend on the field of view
    _margin, tilt = view_fit(View(0.0, pitch, 0.0, 90.0, 8, 8), dirs)
    upright = (tilt <= max_tilt) | (np.abs(np.degrees(lat.ravel())) >= 90.0 - POLAR_CAP)
    cam = dirs @ View(0.0, pitch, 0.0, 90.0, 8, 8).rotation()
    ax, ay, z = np.abs(cam[:, 0]), np.abs(cam[:, 1]), cam[:, 2]
    out = []
    for half in _HALF_FOVS:
        t = math.tan(math.radians(half))
        # distance inside the nearest side plane: asin((t·z − |x|) / sqrt(1 + t²)), same for y
        inside = (t * z - np.maximum(ax, ay)) / math.sqrt(1.0 + t * t)
        ok = (inside >= math.sin(math.radians(radius))) & (z > 1e-9) & upright
        ok = ok.reshape(lat.shape)
        # the run of good offsets that starts at 0 (a footprint on a parallel is one arc)
        run = np.cumprod(ok, axis=1).sum(axis=1)
        out.append(np.where(run >= len(_LAMBDA), 180.0, np.maximum(run - 1, 0) * 1.0))
    return out


def _band_solid_angle(lo: float, hi: float) -> float:
    return 2.0 * math.pi * (math.sin(math.radians(hi)) - math.sin(math.radians(lo)))


@lru_cache(maxsize=32)
def angular_layout(radius: float, max_tilt: float) -> tuple[tuple[float, float, float], ...]:
    """(yaw, pitch, hfov) of square views (roll 0) seeing every direction at least
    ``radius`` degrees inside a view, upright within ``max_tilt``.

    Rings of equal views, built band by band from the equator to the pole (then mirrored):
    each next ring (pitch, field of view, number of views) is the one that covers the most
    new solid angle per pixel, given that ring ``n`` covers latitude φ when one view's
    footprint half-width there is at least 180°/n."""
    candidates = []
    for pitch in np.arange(0.0, 90.0 + 1e-9, _PITCH_STEP):
        for half, widths in zip(
            _HALF_FOVS, _half_widths(float(pitch), radius, max_tilt), strict=True
        ):
            if half - radius >= 3.0 and widths.max() > 0:
                candidates.append((float(pitch), half, widths))
    if not candidates:
        raise ValueError(f"no view can hold objects of radius {radius} degrees")

    counts = np.arange(1, 73)
    # covered[c, n - 1, i]: candidate c with n views covers latitude _PHI[i]
    covered = np.stack([w[None, :] >= 180.0 / counts[:, None] for _p, _h, w in candidates])
    cost = np.array(
        [n_ * math.tan(math.radians(h)) ** 2 for _p, h, _w in candidates for n_ in counts]
    )
    cost = cost.reshape(len(candidates), len(counts))
    pitches = np.array([p for p, _h, _w in candidates])
    sin_phi = np.sin(np.radians(_PHI))
    rings: list[tuple[float, float, int]] = []
    top = 0  # index into _PHI of the highest latitude covered so far (the equator ring first)
    while top < len(_PHI) - 1:
        # last index of the run of covered latitudes that starts at `top`
        run = np.cumprod(covered[:, :, top:], axis=2).sum(axis=2)  # (cand, n)
        end = top + run - 1
        if rings:
            gain = 2.0 * math.pi * (sin_phi[np.maximum(end, top)] - sin_phi[top])
            gain[run <= 1] = 0.0
        else:  # the first ring sits on the horizon and covers both sides of it
            gain = 4.0 * math.pi * sin_phi[np.maximum(end, 0)]
            gain[(run == 0) | (pitches[:, None] != 0.0)] = 0.0
        score = gain / cost
        c, k = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[c, k] <= 0:
            raise ValueError(f"no ring layout for radius {radius} and tilt {max_tilt}")
        rings.append((candidates[c][0], candidates[c][1], int(counts[k])))
        top = int(end[c, k])
    out = []
    for k, (pitch, half, n) in enumerate(rings):
        offset = (180.0 / n) * (k % 2)  # stagger neighbouring rings
        for sign in (1.0, -1.0) if pitch != 0.0 else (1.0,):
            for j in range(n):
                yaw = ((offset + j * 360.0 / n + 180.0) % 360.0) - 180.0
                out.append((yaw, sign * pitch, 2.0 * half))
    return tuple(out)


def level_views(level: Level, radius: float, max_tilt: float) -> list[View]:
    """The views of one level at its focal length (sizes rounded to multiples of 32 px)."""
    views = []
    for yaw, pitch, hfov in angular_layout(round(radius, 3), round(max_tilt, 3)):
        size = 2.0 * level.focal * math.tan(math.radians(hfov) / 2.0)
        size = max(32, int(math.ceil(size / 32.0)) * 32)
        # widen the FOV to the rounded size so the focal length stays the level's
        hfov = 2.0 * math.degrees(math.atan(size / (2.0 * level.focal)))
        views.append(View(yaw, pitch, 0.0, hfov, size, size))
    return views


def scan_views(scale: Scale, source_width: int) -> list[tuple[Level, list[View]]]:
    """The coarse scan: per pyramid level, the views that see its objects whole and upright.

    The layout's radius is half the level's largest size plus 2° of slack, as the search grid
    of directions is 2° × 5°."""
    return [
        (level, level_views(level, level.max_deg / 2.0 + 2.0, scale.max_tilt))
        for level in scale.levels(source_width)
    ]


def focus_view(
    centre_vec: np.ndarray, size_deg: float, scale: Scale, source_width: int, context: float = 2.5
) -> View:
    """A view looking straight at a candidate (roll 0): the object (``size_deg`` across)
    about ``focus_px`` pixels wide, in a view ``context`` times as wide; at most
    ``FOCUS_OVERSAMPLING`` times finer than the panorama."""
    v = np.asarray(centre_vec, np.float64)
    v = v / np.linalg.norm(v)
    lon = math.degrees(math.atan2(v[0], v[2]))
    lat = math.degrees(math.asin(max(-1.0, min(1.0, v[1]))))
    size = max(float(size_deg), 0.05)
    f_max = FOCUS_OVERSAMPLING * source_width / (2.0 * math.pi)
    f = min(scale.focus_px / math.radians(size), f_max)
    half = min(math.degrees(math.atan(math.tan(math.radians(size) / 2.0) * context)), 70.0)
    width = int(min(1536, max(64, math.ceil(2.0 * f * math.tan(math.radians(half)) / 32) * 32)))
    hfov = 2.0 * math.degrees(math.atan(width / (2.0 * f)))
    return View(lon, lat, 0.0, min(hfov, 150.0), width, width)
