"""Django admin for exports, imports, agreement rounds and annotators' replicas."""

from django.contrib import admin

from .models import AgreementRound, AnnotationReplica, Export, Import


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "size_bytes", "requested_by", "created_at"]
    list_filter = ["format", "status", "project"]
    search_fields = ["project__name", "digest"]
    readonly_fields = ["digest", "summary", "error", "job_id", "created_at", "finished_at"]


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "size_bytes", "requested_by", "created_at"]
    list_filter = ["format", "status", "project"]
    search_fields = ["project__name", "original_name"]
    readonly_fields = ["report", "error", "job_id", "created_at", "finished_at"]


class ReplicaInline(admin.TabularInline):
    model = AnnotationReplica
    extra = 0
    fields = ["panorama", "annotator", "submitted", "revision", "updated_at"]
    readonly_fields = ["updated_at"]
    raw_id_fields = ["panorama"]


@admin.register(AgreementRound)
class AgreementRoundAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "iou_threshold", "created_at"]
    list_filter = ["project"]
    search_fields = ["name", "project__name"]
    filter_horizontal = ["panoramas", "annotators"]
    inlines = [ReplicaInline]


@admin.register(AnnotationReplica)
class AnnotationReplicaAdmin(admin.ModelAdmin):
    list_display = ["round", "panorama", "annotator", "submitted", "revision", "updated_at"]
    list_filter = ["submitted", "round__project"]
    search_fields = ["panorama__original_name", "annotator__username", "round__name"]
    raw_id_fields = ["panorama"]
