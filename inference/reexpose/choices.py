"""The re-exposure job's named choices, in a module light enough for validating params and
building the admin form without loading the pipeline (OpenCV, SciPy)."""

from __future__ import annotations

#: how the camera response is found: estimated from the image, sRGB, or a given gamma
RESPONSES = ("estimate", "srgb", "gamma")
#: how clipped regions are rebuilt: decided per image, as a sky (outdoor), or expanded (indoor)
SCENES = ("auto", "outdoor", "indoor")
