"""COCO RLE to and from per-column runs, without materialising masks or calling pycocotools.

COCO RLE is column-major (Fortran order): the flat index of pixel (row j, column i) of an
H×W mask is ``i*H + j``. A run of rows [j0, j1) in column i is the flat interval
[i*H + j0, i*H + j1); runs that touch across a column boundary are merged, and the
counts alternate zeros/ones starting with zeros.

The compressed string form is COCO's: each count (from the fourth on, minus the count two
before it) is written in 5-bit groups, least significant first, as characters ``48 + group``
with bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign. Encoding
and decoding are compiled loops here (:func:`counts_to_string`, :func:`string_to_counts`):
the exporter writes RLE straight from the rasteriser's column runs, and an imported RLE is
checked completely (characters, signs, total = H×W) before anything uses it — a native
decoder never sees an RLE that does not describe exactly one H×W mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


class RleError(ValueError):
    """An RLE that does not describe exactly one H×W mask (the message says why)."""


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
    counts = np.asarray(runs_to_counts(runs, height, width), dtype=np.int64)
    return {"size": [height, width], "counts": counts_to_string(counts)}


@_jit
def _encode(counts):  # noqa: ANN001 (numba signature)
    out = np.empty(counts.shape[0] * 13, dtype=np.uint8)  # 13 groups hold 64 bits
    p = 0
    for i in range(counts.shape[0]):
        x = counts[i]
        if i > 2:
            x -= counts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out[p] = c + 48
            p += 1
    return out[:p]


def counts_to_string(counts: np.ndarray) -> str:
    """COCO's compressed string of uncompressed RLE counts (the same bytes pycocotools
    writes)."""
    return _encode(np.ascontiguousarray(counts, dtype=np.int64)).tobytes().decode("ascii")


@_jit
def _decode(data, limit):  # noqa: ANN001 (numba signature)
    """(counts, error code): 0 ok, 1 bad character, 2 too many counts, 3 a count overflows,
    4 a string ending inside a count."""
    counts = np.empty(min(data.shape[0], limit + 1), dtype=np.int64)
    m = 0
    p = 0
    n = data.shape[0]
    while p < n:
        x = 0
        k = 0
        more = True
        while more:
            if p >= n:
                return counts[:m], 4
            c = np.int64(data[p]) - 48
            if c < 0 or c > 63:
                return counts[:m], 1
            if k > 11:
                return counts[:m], 3
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= np.int64(-1) << (5 * k)
        if m >= limit:
            return counts[:m], 2
        if m > 2:
            x += counts[m - 2]
        counts[m] = x
        m += 1
    return counts[:m], 0


def string_to_counts(text: str, height: int, width: int) -> np.ndarray:
    """Uncompressed counts of COCO's compressed string; RleError unless they describe
    exactly one H×W mask (no negative count, total H×W)."""
    try:
        data = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError as exc:
        raise RleError("compressed RLE counts must be ASCII") from exc
    counts, code = _decode(data, height * width + 1)
    reasons = {
        1: "compressed RLE counts contain a character outside '0'..'o'",
        2: "compressed RLE has more counts than the image has pixels",
        3: "a compressed RLE count is too large",
        4: "compressed RLE counts end in the middle of a number",
    }
    if code:
        raise RleError(reasons[code])
    return check_counts(counts, height, width)


def check_counts(counts: np.ndarray, height: int, width: int) -> np.ndarray:
    """The counts as int64 if they describe exactly one H×W mask, else RleError."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size and counts.min() < 0:
        raise RleError("RLE counts must not be negative")
    total = int(counts.sum()) if counts.size else 0
    if total != height * width:
        raise RleError(f"RLE counts add up to {total} pixels; the image has {height * width}")
    return counts


def counts_to_runs(counts: np.ndarray, height: int, width: int) -> Runs:
    """Per-column runs of the mask that checked counts describe (runs across a column
    boundary are split at it)."""
    ends = np.cumsum(counts)
    starts = ends - counts
    begin, end = starts[1::2], ends[1::2]  # odd counts are ones
    keep = end > begin
    begin, end = begin[keep], end[keep]
    if begin.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return Runs(e, e, e)
    c0 = begin // height
    c1 = (end - 1) // height
    pieces = c1 - c0 + 1
    cols = np.repeat(c0, pieces) + (
        np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    )
    first = np.repeat(begin, pieces)
    last = np.repeat(end, pieces)
    run_start = np.maximum(first, cols * height) - cols * height
    run_end = np.minimum(last, (cols + 1) * height) - cols * height
    return Runs(cols.astype(np.int64), run_start.astype(np.int64), run_end.astype(np.int64))


def rle_runs(segmentation: dict, height: int, width: int) -> Runs:
    """Runs of a COCO RLE segmentation (compressed or not), checked completely first."""
    size = segmentation.get("size")
    if not isinstance(size, list | tuple) or [*size] != [height, width]:
        raise RleError(f"RLE size {size!r} differs from the image size [{height}, {width}]")
    counts = segmentation.get("counts")
    if isinstance(counts, str):
        return counts_to_runs(string_to_counts(counts, height, width), height, width)
    if isinstance(counts, list):
        if len(counts) > height * width + 1:
            raise RleError("RLE has more counts than the image has pixels")
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            raise RleError("RLE counts must be integers")
        if any(c < 0 or c > height * width for c in counts):
            raise RleError("RLE counts must be integers in 0..H×W")
        return counts_to_runs(check_counts(np.asarray(counts), height, width), height, width)
    raise RleError("RLE counts must be a list of integers or a string")


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
    cols = runs.cols
    if (cols[1:] < cols[:-1]).any():  # runs are kept column-major; sort any that are not
        cols = np.sort(cols)
    cols = cols[np.concatenate(([True], cols[1:] != cols[:-1]))]  # the distinct columns
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
