"""Panorama sequences: the ordered frames of one project.

A :class:`Sequence` is either a 360° video (its file, frame rate, duration and whether it
has sound are kept; frames are extracted at a chosen rate by a job) or panoramas uploaded
one by one and put in order. Each :class:`SequenceFrame` is an ordinary panorama of the
project — annotated, reviewed and exported like any other — with its position and time.
Processing that needs time order (cameraman removal on video, stabilisation, sky
replacement) reads frames through ``sequence.frames`` (ordered by ``index``).
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models


class SequenceSource(models.TextChoices):
    VIDEO = "video", "360° video"
    PANORAMAS = "panoramas", "Ordered panoramas"


class SequenceStatus(models.TextChoices):
    PROCESSING = "processing", "Extracting frames"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


def video_upload_to(instance: Sequence, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "mp4"
    return f"videos/{instance.project_id}/{instance.sha256}.{extension[:8]}"


class Sequence(models.Model):
    project = models.ForeignKey(
        "annotations.Project", on_delete=models.CASCADE, related_name="sequences"
    )
    name = models.CharField(max_length=300)
    source = models.CharField(max_length=16, choices=SequenceSource.choices)
    status = models.CharField(
        max_length=16, choices=SequenceStatus.choices, default=SequenceStatus.READY
    )
    error = models.TextField(blank=True)
    video = models.FileField(upload_to=video_upload_to, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    fps = models.FloatField(
        null=True, blank=True, help_text="Frame rate of the video (or of the ordered frames)."
    )
    sample_fps = models.FloatField(
        null=True, blank=True, help_text="Rate at which video frames became panoramas."
    )
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    frame_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Frames in the video stream."
    )
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    has_audio = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]

    def __str__(self) -> str:
        return self.name


class SequenceFrame(models.Model):
    """One frame: a panorama at a position (``index``) and time (``timestamp``, seconds)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="frames")
    panorama = models.ForeignKey(
        "annotations.Panorama", on_delete=models.CASCADE, related_name="sequence_frames"
    )
    index = models.PositiveIntegerField()
    timestamp = models.FloatField(default=0.0)
    source_frame = models.PositiveIntegerField(
        null=True, blank=True, help_text="Frame number in the video stream."
    )

    class Meta:
        ordering = ["sequence", "index"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "index"], name="unique_sequence_index")
        ]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.index} ({self.timestamp:.3f} s)"
