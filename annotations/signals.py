"""Signals other apps subscribe to (e.g. the jobs app queues derived assets on upload)."""

from django.dispatch import Signal

panorama_uploaded = Signal()  # kwargs: panorama
annotations_changed = Signal()  # kwargs: panorama (after a committed write to its instances)
