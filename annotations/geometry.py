"""Validating instance geometry at the API boundary.

Structure (nesting, numbers) is checked here; the spherical rules (edges shorter than
180°, no self-crossing, area below a hemisphere, ...) come from the geometry core, so
the API and every other part agree on what a valid polygon is.
"""

from __future__ import annotations

import math


def geometry_errors(geometry: object) -> list[str]:
    """All problems of a multipolygon, each naming its part and ring; [] when valid."""
    if not isinstance(geometry, list) or not geometry:
        return ["geometry must be a non-empty list of polygons [[outer, hole, ...], ...]"]
    errors: list[str] = []
    for p, polygon in enumerate(geometry):
        if not isinstance(polygon, list) or not polygon:
            errors.append(f"part {p}: a polygon must be a non-empty list of rings")
            continue
        for r, ring in enumerate(polygon):
            where = f"part {p}, ring {r}"
            if not isinstance(ring, list):
                errors.append(f"{where}: a ring must be a list of [lon, lat] vertices")
                continue
            for v, vertex in enumerate(ring):
                if (
                    not isinstance(vertex, list | tuple)
                    or len(vertex) != 2
                    or not all(
                        isinstance(c, int | float) and not isinstance(c, bool) for c in vertex
                    )
                ):
                    errors.append(f"{where}, vertex {v}: must be a pair of numbers [lon, lat]")
                    break
                if not all(math.isfinite(c) for c in vertex):
                    errors.append(f"{where}, vertex {v}: coordinates must be finite")
                    break
    if errors:
        return errors
    from label360 import sphere  # imported here: the geometry core is heavy and optional at import

    return [describe(problem) for problem in sphere.geometry_problems(geometry)]


def describe(problem) -> str:
    """'part P, ring R[, vertex V]: reason' — the form the API and the UI show."""
    where = f"part {problem.part}, ring {problem.ring}"
    if problem.vertex is not None:
        where += f", vertex {problem.vertex}"
    return f"{where}: {problem.reason}"


def _wrap_lon(lon: float) -> float:
    # Leave in-range values untouched: the modulo would change their last bits, and
    # geometry must round-trip exactly.
    lon = float(lon)
    return lon if -180.0 <= lon < 180.0 else ((lon + 180.0) % 360.0) - 180.0


def normalise(geometry: list) -> list:
    """Floats, [lon, lat] lists, lon wrapped into [-180, 180)."""
    return [
        [[[_wrap_lon(lon), float(lat)] for lon, lat in ring] for ring in polygon]
        for polygon in geometry
    ]
