"""Admin for sequences and their frames, with the "Remove cameraman…" action.

The action shows the video removal form (the single-panorama params plus the temporal ones),
then queues one job per selected sequence: ``cameraman_video`` for a video (a cleaned MP4 at
the original frame rate, with its audio), ``cameraman`` on the frames' panoramas for a
sequence of ordered panoramas (each frame cleaned on its own). A message links to the jobs.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from .models import Sequence, SequenceFrame, SequenceSource

#: the video form's fields that the single-panorama job does not take
VIDEO_ONLY = ("static_threshold", "refine_px", "segment_frames", "reuse")


class FrameInline(admin.TabularInline):
    model = SequenceFrame
    extra = 0
    raw_id_fields = ["panorama"]
    fields = ["index", "timestamp", "source_frame", "panorama"]


def _submit(request, sequences, params: dict) -> tuple[list, list, list[str]]:
    """One job per sequence; (created, already queued, errors naming the sequence)."""
    from inference.registry import ParamsError
    from inference.services import DuplicateJob, submit_job

    created, duplicates, errors = [], [], []
    for sequence in sequences:
        if sequence.source == SequenceSource.VIDEO:
            kind, panoramas = "cameraman_video", []
            job_params = {**params, "sequence": sequence.pk}
        else:
            kind = "cameraman"
            panoramas = [f.panorama for f in sequence.frames.select_related("panorama")]
            job_params = {k: v for k, v in params.items() if k not in VIDEO_ONLY}
            if not panoramas:
                errors.append(f"sequence {sequence.pk} ({sequence}) has no frames")
                continue
        try:
            created.append(submit_job(kind, request.user, sequence.project, panoramas, job_params))
        except DuplicateJob as exc:
            duplicates.append(exc.existing_job)
        except ParamsError as exc:
            errors.append(f"sequence {sequence.pk} ({sequence}): {exc}")
    return created, duplicates, errors


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "project", "source", "status", "fps", "sample_fps",
                    "duration", "width", "height", "has_audio", "created_at"]  # fmt: skip
    list_filter = ["source", "status", "project"]
    search_fields = ["name"]
    readonly_fields = ["sha256", "size_bytes", "codec", "error"]
    inlines = [FrameInline]
    actions = ["remove_cameraman"]

    @admin.action(description="Remove cameraman…")
    def remove_cameraman(self, request, queryset):
        from inference.cameraman.video_job import VideoParamsForm

        if "apply" in request.POST:
            form = VideoParamsForm(request.POST)
            if form.is_valid():
                created, duplicates, errors = _submit(request, queryset, form.to_params())
                for error in errors:
                    self.message_user(request, f"Remove cameraman: {error}", messages.ERROR)
                jobs = created + duplicates
                if jobs:
                    url = (
                        reverse("admin:inference_job_changelist")
                        + "?id__in="
                        + ",".join(str(j.pk) for j in jobs)
                    )
                    self.message_user(
                        request,
                        format_html(
                            "Remove cameraman: {} job(s) queued, {} already queued or running. "
                            '<a href="{}">Show the jobs</a>',
                            len(created),
                            len(duplicates),
                            url,
                        ),
                        messages.SUCCESS,
                    )
                return None
        else:
            form = VideoParamsForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Remove cameraman…",
            # the shared job-form page; one job per sequence (a video: the video job)
            "kind": SimpleNamespace(label="Remove cameraman…", per_panorama=False),
            "form": form,
            "queryset": queryset,
            "count": queryset.count(),
            "opts": self.model._meta,
            "action_name": "remove_cameraman",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
        }
        return TemplateResponse(request, "admin/inference/job_params.html", context)
