"""Pretrained detectors on the sphere: faces (MTCNN) and text (PP-OCRv4), as suggestions, and
the privacy blur.

Pure library (no Django): :mod:`.weights` (files extracted from registry wheels, hash
checked), :mod:`.mtcnn` and :mod:`.text` (the networks and their pre/post-processing),
:mod:`.adapters` (one interface for the scan), :mod:`.layout` (views chosen for a detector's
scale), :mod:`.scan` (views → spherical polygons → NMS on the sphere → fine pass),
:mod:`.placement` (pasting photos at known places, for tests and the benchmark).
See docs/detectors.md.
"""
