"""Virtual aerial tour modules: 360° stabilisation, sky replacement and colour transfer.

Each works on one panorama or on an ordered panorama sequence. The algorithms live in
:mod:`.colour`, :mod:`.stabilise` and :mod:`.sky` (no Django import); the job kinds, their
params and admin forms are in :mod:`.jobs`.
"""
