"""Exporters: each writes one format into an open zip file, streaming panorama by panorama."""
