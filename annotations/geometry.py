"""Validating instance geometry at the API boundary.

Structure (nesting, numbers) is checked here; the spherical rules (edges shorter than
180°, no self-crossing, area below a hemisphere, ...) come from the geometry core, so
the API and every other part agree on what a valid polygon is.
"""

from __future__ import annotations

import math


def vertex_count(geometry: object) -> int:
    """Number of vertices of a (structurally unchecked) multipolygon: what sizes are bounded
    by.  Counts list lengths only, so it is cheap and safe on any JSON value."""
    if not isinstance(geometry, list):
        return 0
    total = 0
    for polygon in geometry:
        if isinstance(polygon, list):
            total += sum(len(ring) for ring in polygon if isinstance(ring, list))
    return total


def size_errors(geometry: object) -> list[str]:
    """Problems with the size of a multipolygon (checked before anything else looks at it)."""
    if not isinstance(geometry, list):
        return []
    from label360.sphere.polygons import MAX_GEOMETRY_VERTICES, MAX_RING_VERTICES, MAX_RINGS

    rings = sum(len(p) for p in geometry if isinstance(p, list))
    if rings > MAX_RINGS:
        return [f"geometry has {rings} rings; at most {MAX_RINGS} are allowed"]
    total = vertex_count(geometry)
    if total > MAX_GEOMETRY_VERTICES:
        return [f"geometry has {total} vertices; at most {MAX_GEOMETRY_VERTICES} are allowed"]
    for p, polygon in enumerate(geometry):
        for r, ring in enumerate(polygon if isinstance(polygon, list) else []):
            if isinstance(ring, list) and len(ring) > MAX_RING_VERTICES:
                return [
                    f"part {p}, ring {r}: {len(ring)} vertices; at most {MAX_RING_VERTICES} "
                    "are allowed in a ring"
                ]
    return []


def request_vertex_errors(geometries: list[object]) -> list[str]:
    """The vertex limit of one request (a bulk save, a replica) over all its geometries."""
    from django.conf import settings

    limit = getattr(settings, "LABEL360_MAX_REQUEST_VERTICES", 1_000_000)
    total = sum(vertex_count(g) for g in geometries)
    if total > limit:
        return [f"the request has {total} vertices in all; at most {limit} are allowed"]
    return []


def geometry_errors(geometry: object) -> list[str]:
    """All problems of a multipolygon, each naming its part and ring; [] when valid."""
    if not isinstance(geometry, list) or not geometry:
        return ["geometry must be a non-empty list of polygons [[outer, hole, ...], ...]"]
    errors: list[str] = size_errors(geometry)
    if errors:
        return errors
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
