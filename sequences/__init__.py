"""Panorama sequences: ordered frames of one project, from a 360° video or ordered uploads."""
