"""The job-kind registry and what a running handler gets (:class:`JobContext`).

A processing module registers itself with one decorator::

    @job_kind("depth", queue="batch", label="Run depth estimation",
              validate=validate_depth_params, admin_form=DepthParamsForm)
    def run_depth(job: Job, ctx: JobContext) -> dict:
        for i, pano in enumerate(job.panoramas.all()):
            ctx.check_cancelled()
            ...
            ctx.save_asset(pano, "depth", "depth.npy", data, params)
            ctx.progress((i + 1) / n, f"{i + 1}/{n} panoramas")
        return {"panoramas": n}

* ``validate(params) -> params`` (optional) returns cleaned params or raises
  :class:`ParamsError` (the API answers 400, the admin form shows it, a worker fails the job).
* ``admin_form`` (optional) is a Django form class; given one, the admin gets a
  "<label>" action on the Panorama and Project lists (see :mod:`inference.admin`).
* A handler raises :class:`JobError` for "fail with this clear message"; any other exception
  fails the job as "unexpected error: ..." (the traceback goes to the worker log only).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

if TYPE_CHECKING:
    from annotations.models import Panorama

    from .models import DerivedAsset, Job

QUEUES = ("interactive", "batch")


class JobError(Exception):
    """Fail the job with this message (shown to users as is)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class JobCancelled(Exception):
    """Raised by :meth:`JobContext.check_cancelled` once a cancel was requested."""


class ParamsError(ValueError):
    """The params are invalid; the message says which and why."""


Handler = Callable[["Job", "JobContext"], dict]
Validator = Callable[[dict], dict]


@dataclass(frozen=True)
class JobKind:
    """A registered kind of job."""

    name: str
    handler: Handler
    queue: str = "batch"
    label: str = ""
    validate: Validator | None = None
    admin_form: type | None = None
    #: admin action targets: "panorama" and/or "project" lists.
    admin_targets: tuple[str, ...] = ("panorama", "project")
    #: admin actions create one job per panorama (True) or one per selection (False).
    per_panorama: bool = True
    staff_only: bool = False
    description: str = ""

    def clean_params(self, params: dict | None) -> dict:
        """Validated params (a copy); raises ParamsError."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ParamsError("params must be a JSON object")
        return dict(self.validate(dict(params))) if self.validate else dict(params)


_REGISTRY: dict[str, JobKind] = {}


def job_kind(
    name: str,
    queue: str = "batch",
    label: str = "",
    *,
    validate: Validator | None = None,
    admin_form: type | None = None,
    admin_targets: tuple[str, ...] = ("panorama", "project"),
    per_panorama: bool = True,
    staff_only: bool = False,
) -> Callable[[Handler], Handler]:
    """Register ``handler(job, ctx) -> dict`` as the job kind ``name`` on ``queue``."""
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {QUEUES}, got {queue!r}")

    def register(handler: Handler) -> Handler:
        _REGISTRY[name] = JobKind(
            name=name,
            handler=handler,
            queue=queue,
            label=label or name.replace("_", " ").capitalize(),
            validate=validate,
            admin_form=admin_form,
            admin_targets=tuple(admin_targets),
            per_panorama=per_panorama,
            staff_only=staff_only,
            description=(handler.__doc__ or "").strip().splitlines()[0] if handler.__doc__ else "",
        )
        return handler

    return register


def get_kind(name: str) -> JobKind:
    """The registered kind ``name``; raises KeyError with the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown job kind {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def all_kinds() -> list[JobKind]:
    return sorted(_REGISTRY.values(), key=lambda k: k.name)


@dataclass
class JobContext:
    """What a handler uses to report progress, honour cancellation and store outputs."""

    job: Job

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0–1) and a short message; also a cancellation point."""
        from .models import Job

        fraction = float(min(max(fraction, 0.0), 1.0))
        self.job.progress = fraction
        self.job.message = message[:500]
        Job.objects.filter(pk=self.job.pk).update(progress=fraction, message=self.job.message)
        self.check_cancelled()

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancel was requested (reads the database)."""
        from .models import Job

        if Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise JobCancelled()

    def save_file(self, name: str, data: bytes) -> str:
        """Store a job output not tied to one panorama; returns the storage name.

        The name is unique per call (``jobs/<id>/<uuid>-<name>``), so a retry never
        overwrites a file someone may be downloading.
        """
        base = os.path.basename(name) or "output.bin"
        target = f"jobs/{self.job.pk}/{uuid.uuid4().hex[:12]}-{base}"
        return default_storage.save(target, ContentFile(data))

    def save_asset(
        self, panorama: Panorama, kind: str, filename: str, data: bytes, params: dict | None = None
    ) -> DerivedAsset:
        """Store a derived file of ``panorama`` as the next version of (panorama, kind).

        The bytes go to a new, unique storage name first; the row that makes them visible
        is created only afterwards, so nobody ever sees a half-written file. Older versions
        of the same kind are then deleted (row and file) — re-running replaces.
        """
        from .models import DerivedAsset

        base = os.path.basename(filename) or f"{kind}.bin"
        target = (
            f"derived/{panorama.project_id}/{panorama.pk}/{kind}/{uuid.uuid4().hex[:12]}-{base}"
        )
        stored = default_storage.save(target, ContentFile(data))
        try:
            with transaction.atomic():
                latest = (
                    DerivedAsset.objects.select_for_update()
                    .filter(panorama=panorama, kind=kind)
                    .aggregate(v=Max("version"))["v"]
                )
                asset = DerivedAsset.objects.create(
                    panorama=panorama,
                    job=self.job,
                    kind=kind,
                    file=stored,
                    params=params or {},
                    version=(latest or 0) + 1,
                    size_bytes=len(data),
                )
                old = list(
                    DerivedAsset.objects.filter(panorama=panorama, kind=kind).exclude(pk=asset.pk)
                )
                DerivedAsset.objects.filter(pk__in=[a.pk for a in old]).delete()
        except BaseException:
            default_storage.delete(stored)
            raise
        for previous in old:
            if previous.file.name:
                default_storage.delete(previous.file.name)
        return asset
