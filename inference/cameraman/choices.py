"""Named choices of the cameraman-removal jobs, light enough for validating params in the web
process without loading the inpainting (OpenCV, SciPy)."""

from __future__ import annotations

#: how the masked region is filled: exemplar patches, a smooth fill, or a registered model
METHODS = ("patch", "smooth", "model")
