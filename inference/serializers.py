"""API representations of jobs, derived assets and model weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.urls import reverse
from rest_framework import serializers

from annotations.models import Panorama, Project

from .models import DerivedAsset, Job, ModelWeights


class JobSerializer(serializers.ModelSerializer):
    panoramas = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    requester = serializers.CharField(source="requester.username", read_only=True, default=None)
    assets = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id", "kind", "project", "panoramas", "params", "status", "progress", "message",
            "error", "result", "created_at", "started_at", "finished_at", "requester",
            "cancel_requested", "attempts", "assets", "queued_at", "published_at",
            "heartbeat_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_assets(self, job: Job) -> list[dict]:
        return [
            {"id": a.pk, "kind": a.kind, "panorama": a.panorama_id, "url": asset_url(a)}
            for a in job.assets.all()
        ]


class JobCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=64)
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.all(), required=False, allow_null=True
    )
    panoramas = serializers.PrimaryKeyRelatedField(
        queryset=Panorama.objects.all(), many=True, required=False
    )
    params = serializers.DictField(required=False, default=dict)

    def validate(self, attrs: dict) -> dict:
        refuse_unknown_fields(self.initial_data, self.fields)
        return attrs


def refuse_unknown_fields(data: Mapping, allowed: Iterable[str]) -> None:
    """400 for a body with fields the endpoint does not take: a misspelt field must not be
    dropped silently (without "panoramas" a job runs on every panorama of its project)."""
    allowed = list(allowed)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise serializers.ValidationError(
            f"unknown field(s): {', '.join(unknown)}; expected {', '.join(allowed)}"
        )


class JobConflictSerializer(serializers.Serializer):
    """409 (an identical job is queued or running, or the state forbids the operation) and
    503 (the broker is down; the job is saved and starts later)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    job = JobSerializer(required=False)


def asset_url(asset: DerivedAsset) -> str:
    return reverse("derived-asset-file", kwargs={"pk": asset.pk})


class DerivedAssetSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DerivedAsset
        fields = [
            "id", "panorama", "job", "kind", "params", "version", "size_bytes", "created_at",
            "download_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, asset: DerivedAsset) -> str:
        return asset_url(asset)


class ModelWeightsSerializer(serializers.ModelSerializer):
    """Upload (admins): the file is sized, loaded and run once against its task's contract
    before anything is stored; a refusal answers 400 saying what did not fit."""

    class Meta:
        model = ModelWeights
        fields = [
            "id", "name", "task", "file", "decoder", "format", "input_size", "mean", "std",
            "class_names", "output", "version", "contract", "project", "validation",
            "provenance", "created_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "format", "contract", "project", "validation", "provenance", "created_at",
        ]  # fmt: skip

    def validate(self, attrs: dict) -> dict:
        from django.core.exceptions import ValidationError as DjangoValidationError

        instance = ModelWeights(**{k: v for k, v in attrs.items()})
        try:
            instance.clean()
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"file": exc.messages}
            raise serializers.ValidationError(detail) from exc
        self._checked = instance
        return attrs

    def create(self, validated_data: dict) -> ModelWeights:
        # the instance validate() checked: saving it does not run the model a second time
        instance = getattr(self, "_checked", None) or ModelWeights(**validated_data)
        instance.save()
        return instance


class JobKindFieldSerializer(serializers.Serializer):
    """One field of a job kind's parameter form."""

    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["bool", "choice", "int", "float", "str"])
    required = serializers.BooleanField()
    initial = serializers.JSONField(allow_null=True)
    help = serializers.CharField(allow_blank=True)
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    choices = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class JobKindSerializer(serializers.Serializer):
    """A job kind that can be started from the browser, with its parameter form."""

    name = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    queue = serializers.CharField()
    per_panorama = serializers.BooleanField()
    targets = serializers.ListField(child=serializers.CharField())
    fields = JobKindFieldSerializer(many=True)


class JobKindRunRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    panoramas = serializers.ListField(child=serializers.IntegerField(), required=False)
    fields = serializers.DictField(required=False, help_text="the form's fields by name")


class JobKindRunResponseSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)
    duplicates = JobSerializer(many=True)


class DerivedImageTilesSerializer(serializers.Serializer):
    size = serializers.IntegerField()
    cols = serializers.IntegerField()
    rows = serializers.IntegerField()
    url_template = serializers.CharField()


class DerivedImageSerializer(serializers.Serializer):
    """A current derived asset of a panorama as people see it (``GET /api/assets/images/``).

    ``role``: ``panorama`` (a whole panorama in the panorama's frame: the workspace can show
    it under the labels), ``rotated`` (a whole panorama in another frame, e.g. stabilised),
    ``preview`` (before/after), ``mask``, ``image`` (another picture) or ``download``.
    """

    id = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    role = serializers.ChoiceField(
        choices=["panorama", "rotated", "preview", "mask", "image", "download"]
    )
    format = serializers.CharField(help_text="jpeg, png, tiff, exr, hdr, npy, ply, mp4, …")
    version = serializers.IntegerField()
    job = serializers.IntegerField(allow_null=True)
    job_kind = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    size_bytes = serializers.IntegerField()
    params = serializers.DictField(help_text="the asset's scalar parameters (bounded)")
    width = serializers.IntegerField(allow_null=True, help_text="whole panoramas only")
    height = serializers.IntegerField(allow_null=True, help_text="whole panoramas only")
    file_url = serializers.CharField(
        allow_null=True, help_text="the file itself, inline (JPEG and PNG only)"
    )
    display_url = serializers.CharField(
        allow_null=True, help_text="a display JPEG (?width=), HDR tone-mapped; images only"
    )
    tiles = DerivedImageTilesSerializer(allow_null=True, help_text="whole panoramas only")
    download_url = serializers.CharField()
    error = serializers.CharField(allow_blank=True, help_text="why a panorama cannot be shown")
