"""DRF serializers of exports, imports and agreement rounds."""

from __future__ import annotations

from rest_framework import serializers

from annotations.geometry import geometry_errors, normalise

from .models import AgreementRound, AnnotationReplica, Export


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()
    job = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id",
            "project",
            "format",
            "options",
            "digest",
            "status",
            "size_bytes",
            "summary",
            "error",
            "job_id",
            "job",
            "download_url",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_download_url(self, export: Export) -> str | None:
        if export.status != "ready":
            return None
        return f"/api/exports/{export.pk}/download/"

    def get_job(self, export: Export) -> dict | None:
        if not export.job_id:
            return None
        try:
            from inference.models import Job
        except ImportError:
            return None
        job = (
            Job.objects.filter(pk=export.job_id)
            .values("status", "progress", "message", "error")
            .first()
        )
        return job


class ExportRequestSerializer(serializers.Serializer):
    """Body of POST /api/exports/ (see docs/datasets.md for every option)."""

    project = serializers.IntegerField()
    format = serializers.ChoiceField(choices=["coco", "coco_views", "png", "label360"])
    statuses = serializers.ListField(child=serializers.CharField(), required=False)
    classes = serializers.ListField(child=serializers.IntegerField(), required=False)
    panoramas = serializers.ListField(child=serializers.IntegerField(), required=False)
    include_images = serializers.BooleanField(required=False, default=False)
    include_suggestions = serializers.BooleanField(required=False, default=False)
    ignore = serializers.ChoiceField(choices=["crowd", "omit"], required=False, default="crowd")
    views = serializers.ChoiceField(choices=["cubemap", "list"], required=False, default="cubemap")
    face_size = serializers.IntegerField(required=False, default=512)
    face_fov = serializers.FloatField(required=False, default=90.0)
    view_list = serializers.ListField(child=serializers.DictField(), required=False)


class ImportRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    format = serializers.ChoiceField(choices=["label360", "coco", "labelme"])
    file = serializers.FileField()
    replace = serializers.BooleanField(required=False, default=False)
    strict = serializers.BooleanField(required=False, default=False)
    create_classes = serializers.BooleanField(required=False, default=True)


class AgreementRoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgreementRound
        fields = [
            "id",
            "project",
            "name",
            "panoramas",
            "annotators",
            "iou_threshold",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["id", "created_by", "created_at"]

    def validate(self, attrs):
        project = attrs.get("project") or getattr(self.instance, "project", None)
        for pano in attrs.get("panoramas", []):
            if pano.project_id != project.pk:
                raise serializers.ValidationError(
                    {"panoramas": f"panorama {pano.pk} is not in the project"}
                )
        members = set(project.memberships.values_list("user_id", flat=True))
        for user in attrs.get("annotators", []):
            if user.pk not in members:
                raise serializers.ValidationError(
                    {"annotators": f"user {user.pk} is not a project member"}
                )
        if not 0.0 < attrs.get("iou_threshold", 0.5) <= 1.0:
            raise serializers.ValidationError({"iou_threshold": "must be in (0, 1]"})
        return attrs


class ReplicaInstanceSerializer(serializers.Serializer):
    label_class = serializers.IntegerField()
    geometry = serializers.JSONField()
    attributes = serializers.DictField(required=False, default=dict)

    def validate_geometry(self, value):
        problems = geometry_errors(value)
        if problems:
            raise serializers.ValidationError(problems)
        return normalise(value)


class ReplicaSerializer(serializers.ModelSerializer):
    instances = ReplicaInstanceSerializer(many=True)
    base_revision = serializers.IntegerField(write_only=True, required=False)

    class Meta:
        model = AnnotationReplica
        fields = [
            "id",
            "round",
            "panorama",
            "annotator",
            "instances",
            "submitted",
            "revision",
            "base_revision",
            "updated_at",
        ]
        read_only_fields = ["id", "round", "panorama", "annotator", "revision", "updated_at"]
