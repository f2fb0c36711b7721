"""DRF serializers for projects, memberships, classes, panoramas, instances and reviews."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .geometry import geometry_errors, normalise
from .models import (
    Instance,
    LabelClass,
    Membership,
    Panorama,
    Project,
    ReviewEvent,
)
from .permissions import role_of

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "is_staff"]
        read_only_fields = fields


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    panorama_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "description",
            "default_fov",
            "settings",
            "role",
            "panorama_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "role", "panorama_count", "created_at", "updated_at"]

    def get_role(self, project: Project) -> str | None:
        request = self.context.get("request")
        return role_of(request.user, project) if request else None

    def validate_default_fov(self, value: float) -> float:
        if not 90.0 <= value <= 150.0:
            raise serializers.ValidationError("the expanded FOV must be between 90° and 150°")
        return value


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.SlugRelatedField(
        source="user", slug_field="username", queryset=User.objects.all()
    )

    class Meta:
        model = Membership
        fields = ["id", "project", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]


HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class LabelClassSerializer(serializers.ModelSerializer):
    instance_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = LabelClass
        fields = [
            "id",
            "project",
            "name",
            "color",
            "order",
            "is_ignore",
            "is_group",
            "instance_count",
        ]
        read_only_fields = ["id", "instance_count"]

    def validate_color(self, value: str) -> str:
        if not HEX_COLOR.match(value):
            raise serializers.ValidationError("colour must be #rrggbb")
        return value.lower()

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and "project" in attrs:
            if attrs["project"] != self.instance.project:
                raise serializers.ValidationError({"project": "a class cannot change project"})
        return attrs


class PanoramaSerializer(serializers.ModelSerializer):
    assignees = serializers.SlugRelatedField(
        many=True, slug_field="username", queryset=User.objects.all(), required=False
    )
    instance_count = serializers.IntegerField(read_only=True, required=False)
    image_url = serializers.SerializerMethodField()
    display_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    tiles = serializers.SerializerMethodField()

    class Meta:
        model = Panorama
        fields = [
            "id",
            "project",
            "original_name",
            "file_format",
            "width",
            "height",
            "channels",
            "is_hdr",
            "sha256",
            "size_bytes",
            "pose_heading",
            "pose_pitch",
            "pose_roll",
            "metadata",
            "status",
            "assignees",
            "revision",
            "instance_count",
            "image_url",
            "display_url",
            "thumbnail_url",
            "tiles",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in {"assignees", "metadata"}]

    def _url(self, panorama: Panorama, name: str) -> str:
        return f"/api/panoramas/{panorama.pk}/{name}/"

    def get_image_url(self, panorama: Panorama) -> str:
        return self._url(panorama, "image")

    def get_display_url(self, panorama: Panorama) -> str:
        return self._url(panorama, "display")

    def get_thumbnail_url(self, panorama: Panorama) -> str:
        return self._url(panorama, "thumbnail")

    def get_tiles(self, panorama: Panorama) -> dict:
        from .imaging import TILE_SIZE, tile_grid

        cols, rows = tile_grid(panorama)
        return {
            "size": TILE_SIZE,
            "cols": cols,
            "rows": rows,
            "url_template": f"/api/panoramas/{panorama.pk}/tiles/{{col}}/{{row}}/",
        }

    def validate_assignees(self, users: list) -> list:
        project = self.instance.project if self.instance else None
        if project is not None:
            for user in users:
                if role_of(user, project) is None:
                    raise serializers.ValidationError(
                        f"{user.username} is not a member of this project"
                    )
        return users


class PanoramaUploadSerializer(serializers.Serializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    files = serializers.ListField(child=serializers.FileField(), allow_empty=False)


class GeometryField(serializers.JSONField):
    """A spherical multipolygon, validated against CONVENTIONS.md."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        errors = geometry_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return normalise(value)


class InstanceSerializer(serializers.ModelSerializer):
    geometry = GeometryField()

    class Meta:
        model = Instance
        fields = [
            "id",
            "panorama",
            "label_class",
            "geometry",
            "source",
            "is_suggestion",
            "score",
            "model_version",
            "order",
            "attributes",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_by", "updated_by", "created_at", "updated_at"]

    def validate(self, attrs: dict) -> dict:
        panorama = attrs.get("panorama") or (self.instance.panorama if self.instance else None)
        label_class = attrs.get("label_class") or (
            self.instance.label_class if self.instance else None
        )
        if self.instance is not None and "panorama" in attrs:
            if attrs["panorama"] != self.instance.panorama:
                raise serializers.ValidationError({"panorama": "an instance cannot move"})
        if panorama and label_class and label_class.project_id != panorama.project_id:
            raise serializers.ValidationError(
                {"label_class": "the class belongs to another project"}
            )
        return attrs


class BulkInstanceSerializer(serializers.Serializer):
    """One instance inside a bulk save; ``id`` present means update, absent means create."""

    id = serializers.IntegerField(required=False, allow_null=True)
    label_class = serializers.IntegerField()
    geometry = serializers.JSONField()
    source = serializers.ChoiceField(
        choices=Instance._meta.get_field("source").choices, default="manual"
    )
    is_suggestion = serializers.BooleanField(default=False)
    score = serializers.FloatField(required=False, allow_null=True)
    model_version = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = serializers.JSONField(required=False, default=dict)


class BulkSaveSerializer(serializers.Serializer):
    revision = serializers.IntegerField(required=False, min_value=0)
    instances = BulkInstanceSerializer(many=True)


class ReviewEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = ReviewEvent
        fields = ["id", "panorama", "username", "action", "comment", "revision", "created_at"]
        read_only_fields = fields


class ReviewRequestSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")
