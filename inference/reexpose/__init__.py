"""HDR radiance from one 8-bit 360° panorama, and re-exposure.

Pipeline (:func:`inference.reexpose.pipeline.recover_hdr`): estimate or take the camera
response and linearise (:mod:`.response`) → find clipped pixels per channel on the sphere
(:mod:`.clipping`) → rebuild the clipped sky and sun from a fitted parametric sky model plus a
sun lobe (:mod:`.sky`) and everything else clipped with a smooth expand map; both are joined
to the unclipped border in the gradient domain on the sphere (:mod:`.fill`) → linear EXR,
re-exposed previews and a plot of the response (:mod:`.outputs`). The job kind is in
:mod:`.job`. Nothing here but :mod:`.job` imports Django models.
"""
