"""Processing jobs, the files they derive from panoramas, and registered model weights.

* :class:`Job` — one run of a registered job kind (see :mod:`inference.registry`) on a
  project and/or panoramas, with live progress and a JSON result.
* :class:`DerivedAsset` — a file computed from one panorama (thumbnail, depth, normals...).
  Files go through the storage API only; a row points at a file only once it is complete.
* :class:`ModelWeights` — TorchScript or ONNX weights uploaded by an admin (or trained by a
  job); run once against their task's contract on save, never downloaded from anywhere.
"""

from __future__ import annotations

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
    # The lease of the attempt that runs the job: only the copy holding it may write progress,
    # assets and the final state (a re-delivered or re-queued copy takes a new one).
    lease = models.CharField(max_length=32, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the runner.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The outbox: when the row was (re-)queued and when its message reached the broker.
    queued_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_error = models.CharField(max_length=300, blank=True)
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
        indexes = [
            models.Index(fields=["project", "status"], name="job_project_status"),
            models.Index(fields=["status", "published_at"], name="job_status_published"),
        ]

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
    INTERACTIVE_SEGMENTATION = "interactive_segmentation", "Interactive segmentation (SAM-style)"
    INPAINTING = "inpainting", "Inpainting"
    SKY = "sky", "Sky"
    HDR = "hdr", "HDR reconstruction (clipped regions)"


class ModelFormat(models.TextChoices):
    TORCHSCRIPT = "torchscript", "TorchScript"
    ONNX = "onnx", "ONNX"


class DepthOutput(models.TextChoices):
    """What a depth network outputs; the same names as the estimator's prediction kinds."""

    INVERSE = "inverse", "Relative inverse depth (MiDaS, Depth Anything)"
    Z = "z", "Z-depth up to scale"
    DISTANCE = "distance", "Distance along the ray up to scale"


def max_weights_bytes() -> int:
    return int(getattr(django_settings, "LABEL360_MAX_WEIGHTS_BYTES", 2 * 1024**3))


def _read_bounded(handle, what: str) -> bytes:
    """The file's bytes, refusing a file over the size limit before reading it."""
    limit = max_weights_bytes()
    size = getattr(handle, "size", None)
    if size is not None and size > limit:
        raise ValidationError(f"The {what} is {size} bytes; at most {limit} are accepted.")
    handle.open("rb")
    handle.seek(0)
    data = handle.read(limit + 1)
    handle.seek(0)
    if len(data) > limit:
        raise ValidationError(f"The {what} is larger than {limit} bytes.")
    return data


class ModelWeights(models.Model):
    """Weights of one task (TorchScript or ONNX), uploaded by an admin or trained by a job.

    On save the file is loaded and run once on a small test input against its task's
    contract (:mod:`inference.model_contracts`); ``format`` and ``contract`` record what was
    found. Project models (trained by ``prelabel_train``) carry their ``project``, their
    per-class ``validation`` scores and ``provenance``; the project's active version is chosen
    in the project's settings (see :mod:`inference.prelabel.versions`).
    """

    name = models.CharField(max_length=200)
    task = models.CharField(max_length=32, choices=ModelTask.choices)
    file = models.FileField(upload_to="weights/", max_length=300)
    decoder = models.FileField(
        upload_to="weights/",
        max_length=300,
        blank=True,
        help_text="Interactive segmentation only: the prompt decoder (ONNX) of a SAM-style pair.",
    )
    format = models.CharField(
        max_length=16, choices=ModelFormat.choices, blank=True, help_text="Found from the file."
    )
    input_size = models.PositiveIntegerField(
        default=384,
        help_text="Input size in pixels the model expects: square side; for hdr the width "
        "(the height is half of it).",
    )
    mean = models.JSONField(default=list, blank=True, help_text="Per-channel mean, 0–1 RGB.")
    std = models.JSONField(default=list, blank=True, help_text="Per-channel std, 0–1 RGB.")
    class_names = models.JSONField(default=list, blank=True)
    output = models.CharField(
        max_length=16,
        default=DepthOutput.INVERSE,
        choices=DepthOutput.choices,
        help_text="Depth models only: what the network outputs.",
    )
    version = models.CharField(max_length=64, default="1")
    contract = models.JSONField(
        default=dict, blank=True, help_text="What the upload check found (layout, inputs, outputs)."
    )
    project = models.ForeignKey(
        "annotations.Project",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="model_versions",
        help_text="Set for a project's own trained model versions.",
    )
    validation = models.JSONField(
        default=dict,
        blank=True,
        help_text="Scores on the project's validation panoramas: per-class IoU, calibration.",
    )
    provenance = models.JSONField(
        default=dict, blank=True, help_text="Trained on what: panoramas, iterations, job."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "name", "-created_at"]
        verbose_name_plural = "model weights"

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.task})"

    def _file_bytes(self) -> bytes:
        return _read_bounded(self.file, "weights file")

    def decoder_bytes(self) -> bytes | None:
        return _read_bounded(self.decoder, "decoder file") if self.decoder else None

    def build(self, threads: int | None = None, **overrides):
        """The task adapter of :mod:`inference.model_contracts` for these weights."""
        from .model_contracts import build_model

        options = {
            "input_size": self.input_size,
            "mean": self.mean or None,
            "std": self.std or None,
            "class_names": list(self.class_names or []),
            "output": self.output,
            "decoder": self.decoder_bytes(),
            "threads": threads or getattr(django_settings, "LABEL360_ONNX_THREADS", None),
        }
        options.update(overrides)
        return build_model(self.task, self._file_bytes(), **options)

    def clean(self) -> None:
        """Check the fields, then load and run the model once against its task's contract."""
        super().clean()
        if not self.file:
            raise ValidationError({"file": "A TorchScript or ONNX file is required."})
        for field in ("mean", "std"):
            values = getattr(self, field)
            if values and (
                not isinstance(values, list)
                or len(values) != 3
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
            ):
                raise ValidationError({field: "Give three numbers (R, G, B) or leave empty."})
        if self.std and any(v <= 0 for v in self.std):
            raise ValidationError({"std": "Every std must be positive."})
        names = self.class_names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValidationError({"class_names": "Give a list of names."})
        if len(names) > 10000:
            raise ValidationError({"class_names": "At most 10000 class names."})
        if self.output not in DepthOutput.values:
            raise ValidationError(
                {"output": f"Choose one of {', '.join(DepthOutput.values)} (got {self.output!r})."}
            )
        if self.decoder and self.task != ModelTask.INTERACTIVE_SEGMENTATION:
            raise ValidationError({"decoder": "Only interactive segmentation takes a decoder."})
        if self.task == ModelTask.INTERACTIVE_SEGMENTATION and not self.decoder:
            raise ValidationError(
                {"decoder": "Interactive segmentation needs the prompt decoder (ONNX) as well."}
            )
        from .model_contracts import ContractError, check_model
        from .model_formats import ModelFileError, detect_format

        try:
            data = self._file_bytes()
            self.format = detect_format(data)
            decoder = self.decoder_bytes()
        except (ValidationError, ModelFileError) as exc:
            raise ValidationError(
                {"file": [str(m) for m in getattr(exc, "messages", [exc])]}
            ) from exc
        try:
            self.contract = check_model(
                self.task,
                data,
                input_size=self.input_size,
                mean=self.mean or None,
                std=self.std or None,
                class_names=list(names),
                output=self.output,
                decoder=decoder,
                threads=getattr(django_settings, "LABEL360_ONNX_THREADS", None),
            )
        except ContractError as exc:
            raise ValidationError({"file": f"{exc} (task {self.task})"}) from exc
        self._checked = self._file_key()

    def _file_key(self) -> tuple:
        return (
            self.file.name,
            self.decoder.name if self.decoder else "",
            self.task,
            self.input_size,
            self.output,
            tuple(self.mean or ()),
            tuple(self.std or ()),
            tuple(self.class_names or ()),
        )

    def _needs_check(self, update_fields) -> bool:
        if getattr(self, "_checked", None) == self._file_key():
            return False  # checked in this very state (e.g. by the serializer)
        if self.pk is None or self._state.adding:
            return True
        checked = {"file", "decoder", "task", "input_size", "output", "mean", "std", "class_names"}
        if update_fields is not None:
            return bool(checked & set(update_fields))
        stored = ModelWeights.objects.filter(pk=self.pk).first()
        return stored is None or stored._file_key() != self._file_key()

    def save(self, *args, **kwargs) -> None:
        """Validate (the model must load and follow its contract) before anything is stored;
        a save that changes none of the checked fields (e.g. new validation scores) skips it."""
        if self._needs_check(kwargs.get("update_fields")):
            self.clean()
        super().save(*args, **kwargs)
