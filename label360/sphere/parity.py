"""Parity test vectors for the browser twin: ``python -m label360.sphere.parity OUT.json``.

Every number is computed in float64 by this package; the TypeScript implementation must
reproduce each within 1e-9 (absolute; angles in degrees, pixels in pixels, areas in sr).
The schema is documented in docs/geometry.md ("Parity vectors").
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np

from .clipping import geometry_to_view
from .polygons import area, contains
from .shapes import ellipse_ring, upright_rectangle
from .vectors import arc_points, lonlat_to_vec, vec_to_lonlat
from .views import View

SCHEMA_VERSION = 1

VIEWS = [
    View(0.0, 0.0, 0.0, 90.0, 640, 480),
    View(90.0, 0.0, 0.0, 90.0, 640, 480),
    View(0.0, 90.0, 0.0, 90.0, 512, 512),
    View(-135.0, 30.0, 15.0, 75.0, 800, 600),
    View(170.0, -60.0, -30.0, 120.0, 1024, 512),
    View(45.5, 10.25, 90.0, 60.0, 300, 400),
]

POLYGONS = [
    [[[-10.0, -10.0], [10.0, -10.0], [10.0, 10.0], [-10.0, 10.0]]],
    [[[170.0, -5.0], [-170.0, -5.0], [-175.0, 15.0], [175.0, 12.0]]],  # across the seam
    [[[0.0, 75.0], [90.0, 75.0], [179.0, 75.0], [-90.0, 75.0]]],
    [
        [[-40.0, -30.0], [40.0, -30.0], [40.0, 30.0], [-40.0, 30.0]],
        [[-10.0, -10.0], [-10.0, 10.0], [10.0, 10.0], [10.0, -10.0]],
    ],
    [[[100.0, 0.0], [100.001, 0.0], [100.001, 0.001]]],  # tiny
    [[[-60.0, -80.0], [60.0, -80.0], [120.0, -70.0], [180.0 - 1.0, -75.0], [-120.0, -70.0]]],
]


def _f(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.floating | np.integer):
        return x.item()
    return x


def _nan_to_none(a: Any) -> Any:
    a = np.asarray(a, dtype=np.float64)
    return [None if not math.isfinite(v) else float(v) for v in a.ravel()]


def build() -> dict[str, Any]:
    rng = np.random.default_rng(12345)
    lon = np.concatenate(
        [[-180.0, 0.0, 90.0, -90.0, 179.999, 0.0, 45.0], rng.uniform(-180, 180, 25)]
    )
    lat = np.concatenate([[0.0, 90.0, -90.0, 45.0, -10.0, 0.0, 89.9999], rng.uniform(-90, 90, 25)])
    vec = lonlat_to_vec(lon, lat)
    back_lon, back_lat = vec_to_lonlat(vec)
    doc: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "tolerance": 1e-9}
    doc["lonlat_to_vec"] = [
        {"lon": float(a), "lat": float(b), "vec": _f(v)}
        for a, b, v in zip(lon, lat, vec, strict=True)
    ]
    doc["vec_to_lonlat"] = [
        {"vec": _f(v), "lon": float(a), "lat": float(b)}
        for v, a, b in zip(
            vec * rng.uniform(0.5, 2.0, (len(vec), 1)), back_lon, back_lat, strict=True
        )
    ]
    views = []
    for view in VIEWS:
        px = np.array([0.0, view.width - 1.0, view.width / 2 - 0.5, 10.25, view.width * 0.7])
        py = np.array([0.0, view.height - 1.0, view.height / 2 - 0.5, 33.5, view.height * 0.2])
        plon, plat = view.pixel_to_lonlat(px, py)
        rx, ry = view.lonlat_to_pixel(plon, plat)
        tl = rng.uniform(-180, 180, 8)
        tb = rng.uniform(-90, 90, 8)
        qx, qy = view.lonlat_to_pixel(tl, tb)
        views.append(
            {
                "view": view.as_dict(),
                "focal": view.focal,
                "rotation": _f(view.rotation()),
                "pixel_to_lonlat": [
                    {"x": float(a), "y": float(b), "lon": float(c), "lat": float(d)}
                    for a, b, c, d in zip(px, py, plon, plat, strict=True)
                ],
                "round_trip_xy": [
                    {"x": float(a), "y": float(b), "x2": float(c), "y2": float(d)}
                    for a, b, c, d in zip(px, py, rx, ry, strict=True)
                ],
                "lonlat_to_pixel": [
                    {"lon": float(a), "lat": float(b), "x": x, "y": y}
                    for a, b, x, y in zip(tl, tb, _nan_to_none(qx), _nan_to_none(qy), strict=True)
                ],
            }
        )
    doc["views"] = views
    polys = []
    for poly in POLYGONS:
        plon = rng.uniform(-180, 180, 12)
        plat = rng.uniform(-90, 90, 12)
        c_lon, c_lat = np.mean([r for r in poly[0]], axis=0)
        plon = np.concatenate([[c_lon], plon])
        plat = np.concatenate([[c_lat], plat])
        inside = contains([poly], plon, plat)
        entry: dict[str, Any] = {
            "polygon": poly,
            "area_sr": area([poly]),
            "contains": [
                {"lon": float(a), "lat": float(b), "inside": bool(c)}
                for a, b, c in zip(plon, plat, inside, strict=True)
            ],
            "in_views": [],
        }
        for k, view in enumerate(VIEWS):
            pix = geometry_to_view([poly], view)
            entry["in_views"].append(
                {"view_index": k, "polygons": [[_f(r) for r in part] for part in pix]}
            )
        polys.append(entry)
    doc["polygons"] = polys
    arcs = []
    for a, b in [
        ((-10.0, 0.0), (10.0, 20.0)),
        ((170.0, 10.0), (-170.0, 40.0)),
        ((0.0, 80.0), (179.0, 80.0)),
    ]:
        pts = arc_points(lonlat_to_vec(*a), lonlat_to_vec(*b), 9)
        al, at = vec_to_lonlat(pts)
        arcs.append({"a": list(a), "b": list(b), "n": 9, "points": np.stack([al, at], 1).tolist()})
    doc["arcs"] = arcs
    ellipses = []
    for k, view in enumerate(VIEWS):
        cx, cy = view.width / 2 - 0.5, view.height / 2 - 0.5
        clicks = [
            ((cx - 90.0, cy + 10.0), (cx + 70.0, cy - 20.0), (cx + 5.0, cy + 45.0)),
            ((3.0, 4.0), (view.width - 8.0, view.height - 2.0), (view.width * 0.7, 30.0)),
            ((cx - 40.0, cy), (cx + 40.0, cy), (cx + 50.0, cy + 5.0)),  # beyond the axis's end
        ]
        for pa, pb, pp in clicks:
            plon, plat = view.pixel_to_lonlat(*np.array([pa, pb, pp], dtype=np.float64).T)
            pts = np.stack([plon, plat], axis=1).tolist()
            ellipses.append({"view_index": k, "clicks": pts, "ring": ellipse_ring(view, *pts)})
    doc["ellipses"] = ellipses
    corners = [
        ((-10.0, -5.0), (12.5, 20.0)),
        ((170.0, 10.0), (-175.0, -3.0)),  # across the seam
        ((-175.0, 60.0), (150.0, 80.0)),  # across the seam, the other way
        ((30.0, -85.0), (100.0, -70.0)),
        ((0.0, 0.0), (0.0, 10.0)),  # one meridian: none
        ((10.0, 5.0), (40.0, 5.0)),  # one latitude: none
        ((-90.0, 0.0), (90.0, 10.0)),  # half the sphere apart: none
        ((20.0, 89.95), (40.0, 10.0)),  # on a pole: none
    ]
    doc["rectangles"] = [
        {"a": list(a), "b": list(b), "ring": upright_rectangle(a, b)} for a, b in corners
    ]
    return doc


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m label360.sphere.parity OUT.json", file=sys.stderr)
        return 2
    with open(argv[0], "w") as fh:
        json.dump(build(), fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
