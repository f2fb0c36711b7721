"""Cameraman and tripod removal for 360° panoramas and 360° video.

* :mod:`.frame` — the rotated work frame (mask region on the equator) and the compositing
  that leaves every pixel outside the mask bit-identical;
* :mod:`.mask` — nadir cap or class polygons (exact rasteriser), grown on the sphere;
* :mod:`.harmonic`, :mod:`.structure` — the smooth fill: Laplace's equation, and diffusion
  guided by the structure round the hole (edges crossing it carry on), coarse to fine;
* :mod:`.patchmatch`, :mod:`.inpaint` — coarse-to-fine exemplar inpainting with hole
  shrinking; the default blend of the structure-guided smooth fill and the exemplar's
  texture; a TorchScript model;
* :mod:`.remove` — the single-panorama method; :mod:`.outputs` — files it writes;
* :mod:`.job` — the "cameraman" job kind and its admin form;
* :mod:`.temporal` (keyframe polygons through time), :mod:`.refine` (masks refined from the
  frame's pixels), :mod:`.motion` (the camera's rotation between frames),
  :mod:`.video_clean` (per-frame removal re-using fills under that rotation) and
  :mod:`.video_job` (the "cameraman_video" job: streamed, resumable segments) — 360° video.

See docs/cameraman.md.
"""
