"""Admin for sequences and their frames."""

from django.contrib import admin

from .models import Sequence, SequenceFrame


class FrameInline(admin.TabularInline):
    model = SequenceFrame
    extra = 0
    raw_id_fields = ["panorama"]
    fields = ["index", "timestamp", "source_frame", "panorama"]


@admin.register(Sequence)
class SequenceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "project", "source", "status", "fps", "sample_fps",
                    "duration", "width", "height", "has_audio", "created_at"]  # fmt: skip
    list_filter = ["source", "status", "project"]
    search_fields = ["name"]
    readonly_fields = ["sha256", "size_bytes", "codec", "error"]
    inlines = [FrameInline]
