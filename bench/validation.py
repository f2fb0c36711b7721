"""Benchmark of geometry validation (a script, not a test): the sweep against testing every pair.

For rings of n vertices — a valid wobbly star, and a random (self-crossing) ring — prints the
time of ``geometry_problems`` (the sweep, ``label360.sphere.sweep``) and, as the baseline
measured in the same run, the time of testing every pair of non-adjacent arcs with the same
test (vectorised numpy over all pairs, the method validation used before; only up to 4,000
vertices: its memory grows as n^2), with the ratio.

    .venv/bin/python bench/validation.py
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from label360.sphere import geometry_problems  # noqa: E402
from label360.sphere.polygons import arcs_cross, point_arc_distance, ring_vectors  # noqa: E402


def every_pair(ring: np.ndarray) -> bool:
    """Baseline: does any pair of non-adjacent arcs cross or touch (all pairs at once)?"""
    v = ring_vectors(ring)
    n = len(v)
    w = np.roll(v, -1, axis=0)
    i, j = np.triu_indices(n, 2)
    keep = ~((i == 0) & (j == n - 1))
    i, j = i[keep], j[keep]
    if arcs_cross(v[i], w[i], v[j], w[j]).any():
        return True
    d = point_arc_distance(v[:, None], v[None], w[None])
    k = np.arange(n)
    d[k, k] = np.inf
    d[k, (k - 1) % n] = np.inf
    return bool((d < 1e-10).any())


def timed(fn, repeat_s: float = 0.5) -> float:
    fn()
    t0, k = time.perf_counter(), 0
    while time.perf_counter() - t0 < repeat_s or k == 0:
        fn()
        k += 1
    return (time.perf_counter() - t0) / k


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'ring':<8}{'n':>7}{'sweep ms':>11}{'every pair ms':>15}{'ratio':>8}")
    for n in (100, 1000, 4000, 10000, 20000):
        t = np.linspace(0, 2 * math.pi, n, endpoint=False)
        r = 10 * (0.8 + 0.2 * np.sin(7 * t))
        rings = {
            "star": np.stack([r * np.cos(t), r * np.sin(t)], axis=1),
            "random": rng.uniform(-50, 50, (n, 2)),
        }
        for name, ring in rings.items():
            g = [[ring.tolist()]]
            sweep = timed(lambda g=g: geometry_problems(g))
            base = timed(lambda ring=ring: every_pair(ring), 0.2) if n <= 4000 else None
            row = f"{name:<8}{n:>7}{sweep * 1e3:>11.2f}"
            if base is not None:
                row += f"{base * 1e3:>15.1f}{base / sweep:>7.0f}x"
            print(row)


if __name__ == "__main__":
    main()
