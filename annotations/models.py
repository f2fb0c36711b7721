"""The data model: projects and their members, label classes, panoramas and instances.

Instances store their geometry as the spherical multipolygon of CONVENTIONS.md
(``[[outer, hole, ...], ...]`` with ``[lon, lat]`` vertices in degrees, great-circle
edges). JSON keeps it exact (floats round-trip through JSON unchanged); on PostgreSQL
the column is JSONB.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.db.models import F


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    default_fov = models.FloatField(
        default=100.0, help_text="Expanded FOV (degrees) of the cubemap drawing canvas."
    )
    settings = models.JSONField(default=dict, blank=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when a manager archives the project: hidden from the default list.",
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_membership")
        ]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} as {self.role}"


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7, default="#ff0000", help_text="#rrggbb")
    order = models.IntegerField(default=0)
    is_ignore = models.BooleanField(
        default=False, help_text="Ignore region (e.g. BuildingIgnore): left out of training losses."
    )
    is_group = models.BooleanField(
        default=False, help_text="Group class covering several objects (e.g. Cars)."
    )
    shortcut = models.CharField(
        max_length=1, blank=True, help_text="Key that picks this class in the workspace."
    )
    attribute_schema = models.JSONField(
        default=list,
        blank=True,
        help_text='Per-instance attributes: [{"name", "type": bool|str|enum, "options"?}]',
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_class_name")
        ]
        ordering = ["project", "order", "name"]
        verbose_name_plural = "label classes"

    def __str__(self) -> str:
        return f"{self.project}: {self.name}"


class PanoramaStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


def panorama_upload_to(instance: Panorama, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"panoramas/{instance.project_id}/{instance.sha256}.{extension}"


class Panorama(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="panoramas")
    image = models.FileField(upload_to=panorama_upload_to, max_length=300)
    file_format = models.CharField(max_length=8, help_text="jpeg, png, tiff, hdr or exr")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField(default=3)
    is_hdr = models.BooleanField(default=False)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=300)
    size_bytes = models.BigIntegerField(default=0)
    pose_heading = models.FloatField(null=True, blank=True, help_text="GPano/EXIF heading (deg)")
    pose_pitch = models.FloatField(null=True, blank=True)
    pose_roll = models.FloatField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=PanoramaStatus.choices, default=PanoramaStatus.NEW
    )
    assignees = models.ManyToManyField(
        django_settings.AUTH_USER_MODEL, blank=True, related_name="assigned_panoramas"
    )
    revision = models.PositiveIntegerField(
        default=0, help_text="Bumped by every write to the annotations (optimistic locking)."
    )
    uploaded_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="unique_panorama_sha256")
        ]
        indexes = [
            models.Index(fields=["project", "status"], name="panorama_project_status"),
            models.Index(fields=["project", "created_at"], name="panorama_project_created"),
        ]
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return self.original_name

    def bump_revision(self) -> int:
        """Increment the revision in the database (call inside the write's transaction)."""
        Panorama.objects.filter(pk=self.pk).update(revision=F("revision") + 1)
        self.refresh_from_db(fields=["revision", "updated_at"])
        return self.revision


class InstanceSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    MODEL = "model", "Model"
    IMPORT = "import", "Import"


class Instance(models.Model):
    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="instances")
    # CASCADE: the API refuses to delete a used class unless asked (409 + ?cascade=true),
    # and the admin lists the instances that go with it on its confirmation page.
    label_class = models.ForeignKey(LabelClass, on_delete=models.CASCADE, related_name="instances")
    geometry = models.JSONField(help_text="Spherical multipolygon [[outer, hole, ...], ...]")
    source = models.CharField(
        max_length=8, choices=InstanceSource.choices, default=InstanceSource.MANUAL
    )
    is_suggestion = models.BooleanField(
        default=False,
        help_text="Model output not yet accepted by an annotator (kept apart from human work).",
    )
    score = models.FloatField(null=True, blank=True)
    model_version = models.CharField(max_length=200, blank=True)
    order = models.IntegerField(default=0, help_text="Drawing order: later instances on top.")
    attributes = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["panorama", "order", "id"], name="instance_panorama_order"),
        ]
        ordering = ["panorama", "order", "id"]

    def __str__(self) -> str:
        return f"{self.label_class.name} #{self.pk} on {self.panorama_id}"


class ReviewAction(models.TextChoices):
    SUBMIT = "submit", "Submitted"
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"
    REOPEN = "reopen", "Reopened"


class ReviewEvent(models.Model):
    """The workflow history of a panorama: who submitted, approved or rejected it, and why."""

    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=8, choices=ReviewAction.choices)
    comment = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["panorama", "-created_at"]


class ActiveTime(models.Model):
    """Active annotation time of one user on one panorama on one day.

    The workspace sends a heartbeat while its tab has focus and the user gave input in the
    last few seconds; the server adds at most the wall-clock time since the previous beat,
    so a client cannot claim more time than has passed.
    """

    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    panorama = models.ForeignKey(Panorama, on_delete=models.CASCADE, related_name="active_times")
    day = models.DateField()
    seconds = models.FloatField(default=0.0)
    last_beat = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "panorama", "day"], name="unique_active_time_day"
            )
        ]
        ordering = ["panorama", "user", "day"]


class UploadSession(models.Model):
    """A resumable (chunked) upload of one large file; chunks are appended in order."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=300)
    size = models.BigIntegerField(help_text="Declared total size in bytes.")
    received = models.BigIntegerField(default=0)
    chunks = models.PositiveIntegerField(default=0)
    panorama = models.ForeignKey(
        Panorama, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def chunk_name(self, index: int) -> str:
        return f"uploads/{self.pk}/{index:06d}.part"
