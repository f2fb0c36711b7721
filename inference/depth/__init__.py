"""360° depth estimation by fusing overlapping perspective depth.

Pipeline (:func:`inference.depth.pipeline.estimate_depth`): split the panorama into
overlapping views (:mod:`.layouts`) → a monocular estimator per view (:mod:`.estimators`) →
one global scale/shift solve over all overlaps (:mod:`.align`) → gradient-domain (Poisson)
fusion on the sphere's equirect grid in log-distance (:mod:`.fuse`, :mod:`.poisson`) →
depth, normals, preview and point cloud (:mod:`.outputs`). The job kind is in :mod:`.job`.
This package imports no Django model at module level except :mod:`.job`.
"""
