"""Cameraman and tripod removal for 360° panoramas and 360° video.

* :mod:`.frame` — the rotated work frame (mask region on the equator) and the compositing
  that leaves every pixel outside the mask bit-identical;
* :mod:`.mask` — nadir cap or class polygons (exact rasteriser), grown on the sphere;
* :mod:`.patchmatch`, :mod:`.inpaint` — coarse-to-fine exemplar inpainting with hole
  shrinking and a smooth border correction; Telea; a TorchScript model;
* :mod:`.remove` — the single-panorama method; :mod:`.outputs` — files it writes;
* :mod:`.job` — the "cameraman" job kind and its admin form;
* :mod:`.video`, :mod:`.temporal`, :mod:`.video_job` — 360° video sequences.

See docs/cameraman.md.
"""
