"""How re-exposure results are judged: the step in log luminance across the border of the
clipped (rebuilt) region, the benchmark's and the tests' measure of a visible seam."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .pipeline import LUMA


def border_step(image: NDArray, mask: NDArray) -> float:
    """Mean |Δ log L| over east and south pixel pairs that straddle the mask's border (NaN
    when the mask has no border)."""
    log_l = np.log(np.maximum(image @ LUMA, 1e-9))
    diffs = []
    for axis in (0, 1):
        n = log_l.shape[axis]
        a, b = (np.take(log_l, np.arange(k, n - 1 + k), axis=axis) for k in (0, 1))
        ma, mb = (np.take(mask, np.arange(k, n - 1 + k), axis=axis) for k in (0, 1))
        diffs.append(np.abs(b - a)[ma != mb])
    both = np.concatenate(diffs)
    return float(np.mean(both)) if len(both) else float("nan")
