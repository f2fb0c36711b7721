"""Built-in job kinds: display images on upload (interactive queue) and a diagnostic job.

The depth kind lives in :mod:`inference.depth.job`. Importing this module registers all.
"""

from __future__ import annotations

import time

from django import forms

from .models import Job
from .registry import JobContext, JobError, ParamsError, job_kind


@job_kind(
    "thumbnail",
    queue="interactive",
    label="Make thumbnails, previews and tiles",
    admin_targets=(),
)
def make_thumbnails(job: Job, ctx: JobContext) -> dict:
    """The display images of each panorama, from one decode each: the 2048-px preview the
    workspace opens with, the thumbnail (also stored as a 'thumbnail' asset) and the
    full-resolution tiles, so that opening a panorama only serves files."""
    from django.core.files.storage import default_storage

    from annotations.imaging import make_display_set

    panoramas = list(job.panoramas.all())
    made, tiles = [], 0
    for k, panorama in enumerate(panoramas):
        ctx.check_cancelled()
        try:
            images = make_display_set(panorama)
            with default_storage.open(images.thumbnail, "rb") as handle:
                data = handle.read()
        except Exception as exc:
            raise JobError(f"could not read panorama {panorama.pk} ({panorama}): {exc}") from exc
        asset = ctx.save_asset(
            panorama, "thumbnail", "thumbnail.jpg", data, {"source": images.thumbnail}
        )
        made.append(asset.pk)
        tiles += images.tiles
        ctx.progress((k + 1) / len(panoramas), f"{k + 1}/{len(panoramas)} panoramas")
    return {"assets": made, "tiles": tiles}


def validate_diagnostic(params: dict) -> dict:
    steps = params.get("steps", 5)
    seconds = params.get("step_seconds", 0.1)
    fail_at = params.get("fail_at")
    if not isinstance(steps, int) or not 1 <= steps <= 1000:
        raise ParamsError("steps must be an integer in 1..1000")
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 10:
        raise ParamsError("step_seconds must be a number in 0..10")
    if fail_at is not None and not isinstance(fail_at, int):
        raise ParamsError("fail_at must be an integer step number or null")
    out = {"steps": steps, "step_seconds": float(seconds), "fail_at": fail_at}
    if "token" in params:  # lets callers submit otherwise identical runs
        out["token"] = str(params["token"])[:64]
    return out


class DiagnosticForm(forms.Form):
    steps = forms.IntegerField(min_value=1, max_value=1000, initial=5)
    step_seconds = forms.FloatField(min_value=0, max_value=10, initial=0.5)


@job_kind(
    "diagnostic",
    queue="batch",
    label="Run a diagnostic job",
    validate=validate_diagnostic,
    admin_targets=(),
    staff_only=True,
)
def diagnostic(job: Job, ctx: JobContext) -> dict:
    """Sleep ``steps`` × ``step_seconds`` reporting progress: checks workers end to end."""
    steps, seconds, fail_at = job.params["steps"], job.params["step_seconds"], job.params["fail_at"]
    for k in range(steps):
        ctx.check_cancelled()
        if fail_at is not None and k == fail_at:
            raise JobError(f"diagnostic failure requested at step {k}")
        time.sleep(seconds)
        ctx.progress((k + 1) / steps, f"step {k + 1}/{steps}")
    return {"steps": steps, "attempt": job.attempts}
