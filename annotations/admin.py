"""Django admin for projects, members, classes, panoramas, instances, review events, active
time and resumable uploads."""

from django.contrib import admin
from django.utils.html import format_html

from .models import (
    ActiveTime,
    Instance,
    LabelClass,
    Membership,
    Panorama,
    Project,
    ReviewEvent,
    UploadSession,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LabelClassInline(admin.TabularInline):
    model = LabelClass
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "default_fov", "panorama_count", "created_at"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, LabelClassInline]

    @admin.display(description="panoramas")
    def panorama_count(self, project: Project) -> int:
        return project.panoramas.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(LabelClass)
class LabelClassAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "swatch", "order", "is_ignore", "is_group"]
    list_filter = ["project", "is_ignore", "is_group"]
    search_fields = ["name"]
    list_editable = ["order"]

    @admin.display(description="colour")
    def swatch(self, label_class: LabelClass):
        return format_html(
            '<span style="display:inline-block;width:1.5em;height:1em;background:{}"></span> {}',
            label_class.color,
            label_class.color,
        )


@admin.register(Panorama)
class PanoramaAdmin(admin.ModelAdmin):
    list_display = [
        "original_name",
        "project",
        "status",
        "width",
        "height",
        "file_format",
        "revision",
        "instance_count",
        "created_at",
    ]
    list_filter = ["project", "status", "file_format", "is_hdr"]
    search_fields = ["original_name", "sha256"]
    filter_horizontal = ["assignees"]
    readonly_fields = ["sha256", "width", "height", "revision", "size_bytes", "created_at"]
    date_hierarchy = "created_at"

    @admin.display(description="instances")
    def instance_count(self, panorama: Panorama) -> int:
        return panorama.instances.count()


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "panorama",
        "label_class",
        "source",
        "is_suggestion",
        "score",
        "updated_at",
    ]
    list_filter = ["source", "is_suggestion", "label_class__project", "label_class"]
    search_fields = ["panorama__original_name", "label_class__name", "model_version"]
    raw_id_fields = ["panorama"]


@admin.register(ReviewEvent)
class ReviewEventAdmin(admin.ModelAdmin):
    list_display = ["panorama", "action", "user", "revision", "created_at"]
    list_filter = ["action"]
    search_fields = ["panorama__original_name", "comment", "user__username"]
    raw_id_fields = ["panorama"]


@admin.register(ActiveTime)
class ActiveTimeAdmin(admin.ModelAdmin):
    list_display = ["panorama", "user", "day", "seconds", "last_beat"]
    list_filter = ["day"]
    raw_id_fields = ["panorama", "user"]


@admin.register(UploadSession)
class UploadSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "user", "filename", "size", "received", "panorama", "error"]
    raw_id_fields = ["project", "user", "panorama"]
