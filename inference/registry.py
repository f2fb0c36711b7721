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
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

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


class LeaseLost(Exception):
    """Another attempt holds the job now (this copy's worker looked dead): stop, write nothing.

    Raised by :meth:`JobContext.progress`, :meth:`JobContext.check_cancelled` and the save
    methods; handlers must let it propagate.
    """


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
    """What a handler uses to report progress, honour cancellation and store outputs.

    ``lease`` is the token of the attempt that runs the job (set by the runner): every write
    is conditional on it, so a copy that lost the job writes nothing. ``None`` (a context
    made outside the runner) skips the lease checks.
    """

    job: Job
    lease: str | None = None
    lost: threading.Event = field(default_factory=threading.Event)

    def _owned(self):
        """The job row, as long as this copy holds the lease."""
        from .models import Job, JobStatus

        rows = Job.objects.filter(pk=self.job.pk)
        if self.lease is not None:
            rows = rows.filter(lease=self.lease, status=JobStatus.RUNNING)
        return rows

    def _lose(self) -> None:
        self.lost.set()
        raise LeaseLost(f"job {self.job.pk}: another attempt holds the job now")

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0–1) and a short message (and a heartbeat); also a cancellation
        point. Raises LeaseLost when this copy no longer holds the job."""
        if self.lost.is_set():
            self._lose()
        fraction = float(min(max(fraction, 0.0), 1.0))
        message = message[:500]
        updated = self._owned().update(
            progress=fraction, message=message, heartbeat_at=timezone.now()
        )
        if not updated and self.lease is not None:
            self._lose()
        self.job.progress = fraction
        self.job.message = message
        self.check_cancelled()

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancel was requested, LeaseLost if another attempt holds
        the job (reads the database)."""
        from .models import Job, JobStatus

        if self.lost.is_set():
            self._lose()
        row = Job.objects.filter(pk=self.job.pk).values("cancel_requested", "lease", "status")
        row = row.first()
        if self.lease is not None and (
            row is None or row["lease"] != self.lease or row["status"] != JobStatus.RUNNING
        ):
            self._lose()
        if row is not None and row["cancel_requested"]:
            raise JobCancelled()

    def _check_lease_locked(self) -> None:
        """Inside a transaction: lock the job row and fail unless this copy holds the lease."""
        if self.lease is None:
            return
        if not list(self._owned().select_for_update().values_list("pk", flat=True)):
            self._lose()

    def save_file(self, name: str, data: bytes) -> str:
        """Store a job output not tied to one panorama; returns the storage name.

        The name is unique per call (``jobs/<id>/<uuid>-<name>``), so a retry never
        overwrites a file someone may be downloading.
        """
        if self.lease is not None and not self._owned().exists():
            self._lose()
        base = os.path.basename(name) or "output.bin"
        target = f"jobs/{self.job.pk}/{uuid.uuid4().hex[:12]}-{base}"
        return default_storage.save(target, ContentFile(data))

    def save_asset(
        self,
        panorama: Panorama,
        kind: str,
        filename: str,
        data: bytes | File,
        params: dict | None = None,
    ) -> DerivedAsset:
        """Store a derived file of ``panorama`` as the next version of (panorama, kind).

        ``data`` is the bytes, or an open :class:`File` for large outputs (streamed to the
        storage, never read into memory whole).

        The bytes go to a new, unique storage name first; the row that makes them visible
        is created only afterwards, so nobody ever sees a half-written file. Older versions
        of the same kind are then deleted (row and file) — re-running replaces.
        """
        from .models import DerivedAsset

        base = os.path.basename(filename) or f"{kind}.bin"
        target = (
            f"derived/{panorama.project_id}/{panorama.pk}/{kind}/{uuid.uuid4().hex[:12]}-{base}"
        )
        content = data if isinstance(data, File) else ContentFile(data)
        stored = default_storage.save(target, content)
        try:
            with transaction.atomic():
                self._check_lease_locked()  # a copy that lost the job creates no row
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
                    size_bytes=content.size,
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
