"""Dataset export and import for researchers, and annotator agreement on the sphere."""
