"""Named choices of the cameraman-removal jobs, light enough for validating params in the web
process without loading the inpainting (OpenCV, SciPy)."""

from __future__ import annotations

#: how the masked region is filled: the structure-guided smooth fill with exemplar texture on
#: top, exemplar patches alone, the smooth fill alone, or a registered model
METHODS = ("blend", "patch", "smooth", "model")

#: the methods that run the exemplar (PatchMatch) pyramid
EXEMPLAR_METHODS = ("blend", "patch")
