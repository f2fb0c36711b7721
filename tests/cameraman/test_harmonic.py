"""The harmonic (membrane) fill: exact on harmonic data, the discrete solution elsewhere."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.cameraman.harmonic import COARSE_PIXELS, harmonic_fill


def direct_solution(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The same discrete Laplace problem (4-neighbour mean, free image border) solved by a
    sparse LU factorisation."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    n = ys.size
    index = -np.ones(hole.shape, np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols, vals = [], [], []
    rhs = np.zeros((n, image.shape[2]))
    count = np.zeros(n)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        yy, xx = ys + dy, xs + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        count += inside
        j = np.where(inside, index[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)], -1)
        unknown = inside & (j >= 0)
        rows.append(np.flatnonzero(unknown))
        cols.append(j[unknown])
        vals.append(-np.ones(unknown.sum()))
        known = inside & (j < 0)
        rhs[known] += image[yy[known], xx[known]]
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(count)
    matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))))
    out = image.astype(np.float64).copy()
    out[ys, xs] = spla.splu(matrix).solve(rhs)
    return out


def test_a_linear_ramp_is_filled_exactly():
    y, x = np.mgrid[0:120, 0:160].astype(np.float32)
    image = np.stack([3 * x + 2 * y, 200 - x], -1)
    hole = np.zeros((120, 160), bool)
    hole[20:100, 30:140] = True  # larger than one level: the coarse-to-fine path runs
    assert hole.sum() > COARSE_PIXELS
    broken = image.copy()
    broken[hole] = 0
    out = harmonic_fill(broken, hole)
    assert np.abs(out - image).max() < 0.05
    assert np.array_equal(out[~hole], image[~hole])


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(6, 70),
    cx=st.integers(0, 90),
    cy=st.integers(0, 70),
)
def test_matches_the_direct_solution(seed, size, cx, cy):
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 255, (80, 100, 3)).astype(np.float32)
    yy, xx = np.mgrid[0:80, 0:100]
    hole = (yy - cy) ** 2 / size**2 + (xx - cx) ** 2 / (size * 0.7 + 3) ** 2 < 1.0
    hole &= rng.uniform(size=hole.shape) < 0.97  # ragged, with known islands inside
    if not hole.any():
        return
    out = harmonic_fill(image, hole)
    expected = direct_solution(image, hole)
    assert np.abs(out - expected)[hole].mean() < 0.05
    assert np.abs(out - expected)[hole].max() < 1.0
    assert np.array_equal(out[~hole], image[~hole])


def test_whole_image_hole_is_refused():
    with pytest.raises(ValueError, match="whole image"):
        harmonic_fill(np.zeros((8, 8, 1), np.float32), np.ones((8, 8), bool))
