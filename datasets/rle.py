"""COCO RLE built straight from per-column run intervals, without materialising masks.

COCO RLE is column-major (Fortran order): the flat index of pixel (row j, column i) of an
H×W mask is ``i*H + j``. A run of rows [j0, j1) in column i is the flat interval
[i*H + j0, i*H + j1); runs that touch across a column boundary are merged, and the
counts alternate zeros/ones starting with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pycocotools import mask as mask_utils


@dataclass(frozen=True)
class Runs:
    """Pixel runs of one instance: column index, first row and end row (exclusive)."""

    cols: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def empty(self) -> bool:
        return self.cols.size == 0

    @property
    def area(self) -> int:
        return int((self.ends - self.starts).sum())


def runs_from_intervals(intervals: object) -> Runs:
    """Normalise what ``label360.sphere.column_intervals`` returns into :class:`Runs`.

    Accepted shapes: a sequence with one entry per column, each a sequence of (start, end)
    row pairs or an (k, 2) array; or a tuple/array of three flat arrays (cols, starts, ends).
    """
    if isinstance(intervals, Runs):
        return intervals
    if isinstance(intervals, np.ndarray) and intervals.ndim == 2 and intervals.shape[1] == 3:
        arr = intervals.astype(np.int64, copy=False)
        return Runs(arr[:, 0], arr[:, 1], arr[:, 2])  # already sorted column-major
    if (
        isinstance(intervals, tuple)
        and len(intervals) == 3
        and all(isinstance(a, np.ndarray) for a in intervals)
    ):
        cols, starts, ends = (np.asarray(a, dtype=np.int64).ravel() for a in intervals)
        return _sorted(cols, starts, ends)
    cols_l: list[np.ndarray] = []
    pairs_l: list[np.ndarray] = []
    for col, column in enumerate(intervals):  # type: ignore[arg-type]
        arr = np.asarray(column, dtype=np.int64).reshape(-1, 2)
        if arr.size:
            cols_l.append(np.full(arr.shape[0], col, dtype=np.int64))
            pairs_l.append(arr)
    if not cols_l:
        empty = np.zeros(0, dtype=np.int64)
        return Runs(empty, empty, empty)
    pairs = np.concatenate(pairs_l)
    return _sorted(np.concatenate(cols_l), pairs[:, 0], pairs[:, 1])


def _sorted(cols: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> Runs:
    keep = ends > starts
    cols, starts, ends = cols[keep], starts[keep], ends[keep]
    order = np.lexsort((starts, cols))
    return Runs(cols[order], starts[order], ends[order])


def runs_to_counts(runs: Runs, height: int, width: int) -> list[int]:
    """Uncompressed COCO RLE counts of the runs on an H×W grid."""
    total = height * width
    if runs.empty:
        return [total]
    begin = runs.cols * height + runs.starts
    end = runs.cols * height + runs.ends
    # merge runs that touch (end of one == begin of the next)
    touching = begin[1:] == end[:-1]
    if touching.any():
        keep_begin = np.concatenate(([True], ~touching))
        keep_end = np.concatenate((~touching, [True]))
        begin, end = begin[keep_begin], end[keep_end]
    edges = np.empty(begin.size * 2 + 2, dtype=np.int64)
    edges[0] = 0
    edges[1:-1:2] = begin
    edges[2:-1:2] = end
    edges[-1] = total
    counts = np.diff(edges)
    if counts[-1] == 0:
        counts = counts[:-1]
    return counts.tolist()


def runs_to_rle(runs: Runs, height: int, width: int) -> dict:
    """Compressed COCO RLE ``{"size": [H, W], "counts": str}`` of the runs."""
    counts = runs_to_counts(runs, height, width)
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def runs_bbox(runs: Runs) -> list[int]:
    """COCO ``bbox`` [x, y, w, h] (pixel edges) of the runs; [0, 0, 0, 0] when empty.

    For an instance crossing the seam this box spans (nearly) the full width.
    """
    if runs.empty:
        return [0, 0, 0, 0]
    x0, x1 = int(runs.cols[0]), int(runs.cols[-1]) + 1
    y0, y1 = int(runs.starts.min()), int(runs.ends.max())
    return [x0, y0, x1 - x0, y1 - y0]


def runs_bbox_wrapped(runs: Runs, width: int) -> list[int]:
    """Seam-aware box [x, y, w, h]: the tightest box on the cylinder.

    ``x`` is in [0, W) and ``x + w`` may exceed W (the box continues at column 0).
    Equal to :func:`runs_bbox` for instances that do not cross the seam.
    """
    if runs.empty:
        return [0, 0, 0, 0]
    cols = np.unique(runs.cols)
    y0, y1 = int(runs.starts.min()), int(runs.ends.max())
    gaps = np.diff(cols) - 1
    wrap_gap = int(cols[0] + width - cols[-1] - 1)
    if gaps.size == 0 or wrap_gap >= int(gaps.max()):
        return [int(cols[0]), y0, int(cols[-1] - cols[0] + 1), y1 - y0]
    k = int(np.argmax(gaps))
    x0 = int(cols[k + 1])
    x1 = int(cols[k]) + width + 1
    return [x0, y0, x1 - x0, y1 - y0]


def mask_to_runs(mask: np.ndarray) -> Runs:
    """Runs of a boolean (H, W) mask (used for masks that are not polygons, and tests)."""
    m = np.asarray(mask, dtype=bool)
    h = m.shape[0]
    padded = np.zeros((m.shape[1], h + 2), dtype=np.int8)
    padded[:, 1:-1] = m.T
    d = np.diff(padded, axis=1)
    sc, sr = np.nonzero(d == 1)
    ec, er = np.nonzero(d == -1)
    return _sorted(sc.astype(np.int64), sr.astype(np.int64), er.astype(np.int64))
