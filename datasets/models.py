"""Models of the datasets app: cached exports and annotator-agreement rounds.

Agreement data is kept apart from the main ``annotations.Instance`` table on purpose:
each annotator's independent copy of a panorama's labels lives in an
:class:`AnnotationReplica` (its instances as a JSON list, the same fields an
``Instance`` has), so replicas never show up in exports, the editor or model training
unless someone promotes one explicitly.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models

from annotations.models import Panorama, Project


class ExportFormat(models.TextChoices):
    COCO = "coco", "COCO instance segmentation (equirect, RLE)"
    COCO_VIEWS = "coco_views", "COCO on views (cube faces / NFOV)"
    PNG = "png", "Semantic + instance label PNGs"
    LABEL360 = "label360", "Label360 JSON (full fidelity)"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Export(models.Model):
    """One export file of a project, cached under the digest of what it contains.

    ``digest`` hashes (project id, format, options, the state of the selected labels);
    a new request with the same digest reuses a ready export instead of recomputing it.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=16, choices=ExportFormat.choices)
    options = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    file = models.FileField(upload_to="exports/", max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    job_id = models.BigIntegerField(null=True, blank=True, help_text="inference.Job id, if any")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "digest"], name="export_project_digest")]

    def __str__(self) -> str:
        return f"{self.format} export #{self.pk} of {self.project_id} ({self.status})"


class AgreementRound(models.Model):
    """A set of panoramas sent to several annotators, each labelling independently."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_rounds")
    name = models.CharField(max_length=200)
    panoramas = models.ManyToManyField(Panorama, related_name="agreement_rounds")
    annotators = models.ManyToManyField(
        django_settings.AUTH_USER_MODEL, related_name="agreement_rounds"
    )
    iou_threshold = models.FloatField(
        default=0.5, help_text="Matched instances below this spherical IoU count as disagreements."
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project}: {self.name}"


class AnnotationReplica(models.Model):
    """One annotator's independent labels of one panorama in an agreement round.

    ``instances`` is a list of ``{"label_class": id, "geometry": [...], "attributes": {}}``.
    """

    round = models.ForeignKey(AgreementRound, on_delete=models.CASCADE, related_name="replicas")
    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="replicas")
    annotator = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="replicas"
    )
    instances = models.JSONField(default=list, blank=True)
    submitted = models.BooleanField(default=False)
    revision = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["round", "panorama", "annotator"], name="unique_replica"
            )
        ]
        ordering = ["round", "panorama", "annotator"]

    def __str__(self) -> str:
        return f"replica of {self.panorama_id} by {self.annotator_id} in round {self.round_id}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Import(models.Model):
    """One dataset import (Label360 JSON, COCO or LabelMe), run as a background job.

    ``file`` is the uploaded file (kept in the storage so that any worker can read it);
    ``report`` is the bounded report (counts and the first problems) and ``report_file`` the
    full report as JSON.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    format = models.CharField(max_length=16)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    file = models.FileField(upload_to="imports/", max_length=300)
    original_name = models.CharField(max_length=300, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    report_file = models.FileField(upload_to="imports/", max_length=300, blank=True)
    error = models.TextField(blank=True)
    job_id = models.BigIntegerField(null=True, blank=True, help_text="inference.Job id, if any")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.format} import #{self.pk} into {self.project_id} ({self.status})"
