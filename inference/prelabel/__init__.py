"""Model-assisted pre-labelling, server side.

Pure library (no Django): :mod:`.network` (compact segmentation net), :mod:`.samples`
(rectilinear training views with targets rasterised from spherical polygons),
:mod:`.training`, :mod:`.coverage` / :mod:`.merge` (predict per view, merge on the sphere),
:mod:`.contract` (uploaded TorchScript instance-segmentation models), :mod:`.grabcut`
(interactive box segmentation), :mod:`.metrics` (spherical IoU, recall, vertices to move).

Django side: :mod:`.store` (suggestions as Instance rows, accept/reject, class mappings),
:mod:`.jobs` (job kinds ``prelabel_train`` and ``prelabel``), :mod:`.api` + :mod:`.urls`.
See docs/prelabel.md.
"""
