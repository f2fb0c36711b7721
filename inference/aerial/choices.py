"""Named choices of the aerial jobs, light enough for validating params in the web process
without loading the algorithms (OpenCV, SciPy)."""

from __future__ import annotations

#: where colour statistics are matched: linear RGB, or CIE Lab
SPACES = ("linear", "lab")
