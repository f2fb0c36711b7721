"""DRF serializers of exports, imports and agreement rounds."""

from __future__ import annotations

from rest_framework import serializers

from annotations.geometry import geometry_errors, normalise, request_vertex_errors

from .models import AgreementRound, AnnotationReplica, Export, Import


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
        return _job_state(export.job_id)


#: Largest ``split`` option (JSON characters): 16 names, a seed and a key fit easily.
MAX_SPLIT_JSON = 4096


class ExportRequestSerializer(serializers.Serializer):
    """Body of POST /api/exports/ (see docs/datasets.md for every option)."""

    project = serializers.IntegerField()
    format = serializers.ChoiceField(choices=["coco", "coco_views", "png", "label360"])
    statuses = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, max_length=16
    )
    classes = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=100_000,
    )
    panoramas = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=100_000,
    )
    include_images = serializers.BooleanField(required=False, default=False)
    include_suggestions = serializers.BooleanField(required=False, default=False)
    ignore = serializers.ChoiceField(choices=["crowd", "omit"], required=False, default="crowd")
    views = serializers.ChoiceField(choices=["cubemap", "list"], required=False, default="cubemap")
    face_size = serializers.IntegerField(required=False, default=512, min_value=16, max_value=8192)
    face_fov = serializers.FloatField(required=False, default=90.0, min_value=90.0, max_value=179.9)
    view_list = serializers.ListField(child=serializers.DictField(), required=False, max_length=64)
    seam = serializers.ChoiceField(choices=["whole", "split"], required=False, default="whole")
    png_ids = serializers.ChoiceField(
        choices=["cityscapes", "sequential"], required=False, default="cityscapes"
    )
    split = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='{"ratios": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 42, '
        '"group": "sequence"} or {"field": "split"} (docs/datasets.md)',
    )

    def validate_split(self, value):
        import json

        if value is not None and len(json.dumps(value)) > MAX_SPLIT_JSON:
            raise serializers.ValidationError(f"at most {MAX_SPLIT_JSON} characters of JSON")
        return value


class ImportRequestSerializer(serializers.Serializer):
    """Body of POST /api/imports/ (multipart). Re-importing replaces the matched panoramas'
    instances unless ``append`` is true."""

    project = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    format = serializers.ChoiceField(choices=["label360", "coco", "labelme"])
    file = serializers.FileField()
    append = serializers.BooleanField(required=False, default=False)
    replace = serializers.BooleanField(required=False, allow_null=True, default=None)
    strict = serializers.BooleanField(required=False, default=False)
    create_classes = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs: dict) -> dict:
        if attrs.get("replace") is not None and attrs["replace"] == attrs["append"]:
            raise serializers.ValidationError(
                {"append": "append and replace contradict each other; give one of them"}
            )
        attrs["replace"] = not attrs["append"]
        return attrs


class ImportSerializer(serializers.ModelSerializer):
    job = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = Import
        fields = [
            "id",
            "project",
            "format",
            "options",
            "status",
            "original_name",
            "size_bytes",
            "report",
            "error",
            "job_id",
            "job",
            "report_url",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_job(self, row: Import) -> dict | None:
        return _job_state(row.job_id)

    def get_report_url(self, row: Import) -> str | None:
        return f"/api/imports/{row.pk}/report/" if row.report_file else None


def _job_state(job_id: int | None) -> dict | None:
    if not job_id:
        return None
    try:
        from inference.models import Job
    except ImportError:
        return None
    return Job.objects.filter(pk=job_id).values("status", "progress", "message", "error").first()


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
        if self.instance is not None and "project" in attrs:
            if attrs["project"] != self.instance.project:
                raise serializers.ValidationError(
                    {"project": "a round cannot move to another project"}
                )
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
    id = serializers.CharField(
        max_length=64, required=False, help_text="the annotator's own id (agreement reports)"
    )
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

    def validate_instances(self, value: list) -> list:
        errors = request_vertex_errors([item.get("geometry") for item in value])
        if errors:
            raise serializers.ValidationError(errors)
        return value
