"""Processing jobs, the files they derive from panoramas, and registered model weights.

* :class:`Job` — one run of a registered job kind (see :mod:`inference.registry`) on a
  project and/or panoramas, with live progress and a JSON result.
* :class:`DerivedAsset` — a file computed from one panorama (thumbnail, depth, normals...).
  Files go through the storage API only; a row points at a file only once it is complete.
* :class:`ModelWeights` — TorchScript weights uploaded by an admin; validated on save, never
  downloaded from anywhere.
"""

from __future__ import annotations

import io

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class Job(models.Model):
    """One run of a job kind; rows are the source of truth (Celery only carries the id)."""

    kind = models.CharField(max_length=64, db_index=True)
    project = models.ForeignKey(
        "annotations.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    panoramas = models.ManyToManyField("annotations.Panorama", blank=True, related_name="jobs")
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    progress = models.FloatField(default=0.0, help_text="0–1")
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True, help_text="Why the job failed (shown to users).")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requester = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    celery_task_id = models.CharField(max_length=64, blank=True)
    result = models.JSONField(default=dict, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    dedupe_key = models.CharField(
        max_length=64, blank=True, help_text="Hash of kind + targets + params."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one active job per identical request (the race-free duplicate check).
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status__in=["queued", "running"]) & ~Q(dedupe_key=""),
                name="unique_active_job",
            )
        ]
        indexes = [models.Index(fields=["project", "status"], name="job_project_status")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class DerivedAsset(models.Model):
    """A file derived from one panorama; the newest version of (panorama, kind) is current."""

    panorama = models.ForeignKey(
        "annotations.Panorama", on_delete=models.CASCADE, related_name="derived_assets"
    )
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    kind = models.CharField(max_length=32, db_index=True)
    file = models.FileField(max_length=300)
    params = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    size_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["panorama", "kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["panorama", "kind", "version"], name="unique_asset_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} of panorama {self.panorama_id}"


class ModelTask(models.TextChoices):
    DEPTH = "depth", "Depth"
    INSTANCE_SEGMENTATION = "instance_segmentation", "Instance segmentation"
    SEMANTIC_SEGMENTATION = "semantic_segmentation", "Semantic segmentation"
    INPAINTING = "inpainting", "Inpainting"
    SKY = "sky", "Sky"


def validate_torchscript_bytes(data: bytes) -> None:
    """Raise ValidationError unless ``data`` is a loadable TorchScript archive."""
    if not data:
        raise ValidationError("The weights file is empty.")
    import torch  # imported lazily: workers that never touch models start faster

    try:
        torch.jit.load(io.BytesIO(data), map_location="cpu")
    except Exception as exc:  # torch raises RuntimeError/ValueError/zipfile errors
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(
            f"Not a TorchScript model (torch.jit.load failed: {first_line[:300]}). "
            "Export with torch.jit.trace/script and torch.jit.save."
        ) from exc


class ModelWeights(models.Model):
    """TorchScript weights for one task (e.g. a MiDaS depth export), supplied by an admin."""

    name = models.CharField(max_length=200)
    task = models.CharField(max_length=32, choices=ModelTask.choices)
    file = models.FileField(upload_to="weights/", max_length=300)
    input_size = models.PositiveIntegerField(
        default=384, help_text="Square input size in pixels the model expects."
    )
    mean = models.JSONField(default=list, blank=True, help_text="Per-channel mean, 0–1 RGB.")
    std = models.JSONField(default=list, blank=True, help_text="Per-channel std, 0–1 RGB.")
    class_names = models.JSONField(default=list, blank=True)
    output = models.CharField(
        max_length=16,
        default="inverse",
        choices=[
            ("inverse", "Relative inverse depth (MiDaS-like)"),
            ("depth", "Depth up to scale (z-depth)"),
        ],
        help_text="Depth models only: what the network outputs.",
    )
    version = models.CharField(max_length=64, default="1")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "name", "-created_at"]
        verbose_name_plural = "model weights"

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.task})"

    def _file_bytes(self) -> bytes:
        handle = self.file
        handle.open("rb")
        try:
            handle.seek(0)
            return handle.read()
        finally:
            handle.seek(0)

    def clean(self) -> None:
        super().clean()
        if not self.file:
            raise ValidationError({"file": "A TorchScript file is required."})
        for field in ("mean", "std"):
            values = getattr(self, field)
            if values and (
                not isinstance(values, list)
                or len(values) != 3
                or not all(isinstance(v, int | float) for v in values)
            ):
                raise ValidationError({field: "Give three numbers (R, G, B) or leave empty."})
        try:
            validate_torchscript_bytes(self._file_bytes())
        except ValidationError as exc:
            raise ValidationError({"file": exc.messages}) from exc

    def save(self, *args, **kwargs) -> None:
        """Validate (TorchScript must load) before anything is stored."""
        self.clean()
        super().save(*args, **kwargs)
