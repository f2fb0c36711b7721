"""API representations of jobs, derived assets and model weights."""

from __future__ import annotations

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
            "cancel_requested", "attempts", "assets",
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
    class Meta:
        model = ModelWeights
        fields = [
            "id", "name", "task", "file", "input_size", "mean", "std", "class_names", "output",
            "version", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict) -> dict:
        from django.core.exceptions import ValidationError as DjangoValidationError

        instance = ModelWeights(**{k: v for k, v in attrs.items()})
        try:
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs
