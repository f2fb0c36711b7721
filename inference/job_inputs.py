"""What a processing job reads: its panoramas (named, or all of its project's) and their pixels,
with failures turned into job errors that name the panorama."""

from __future__ import annotations

import numpy as np

from .registry import JobError


def job_panoramas(job) -> list:
    """The job's panoramas, or every panorama of its project when it names none."""
    panoramas = list(job.panoramas.all())
    if not panoramas and job.project_id:
        panoramas = list(job.project.panoramas.all())
    if not panoramas:
        raise JobError("no panoramas to process")
    return panoramas


def read_pixels(panorama) -> np.ndarray:
    """The panorama's stored pixels (8/16-bit or float radiance), or a JobError naming it."""
    from annotations.imaging import load_pixels

    try:
        return load_pixels(panorama)
    except Exception as exc:
        raise JobError(f"could not read panorama {panorama.pk} ({panorama}): {exc}") from exc
