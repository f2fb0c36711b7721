"""DRF serializers for projects, memberships, classes, panoramas, instances and reviews."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework import serializers

from .attributes import normalise_schema, schema_errors, values_errors
from .geometry import geometry_errors, normalise, request_vertex_errors
from .models import (
    Instance,
    LabelClass,
    Membership,
    Panorama,
    Project,
    ReviewEvent,
    UploadSession,
)
from .permissions import edit_lock, may_annotate, role_of

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "is_staff"]
        read_only_fields = fields


#: Most classes a project may be created with (pasted JSON or copied).
MAX_CLASSES = 500


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    panorama_count = serializers.IntegerField(read_only=True, required=False)
    archived = serializers.SerializerMethodField()
    copy_classes_from = serializers.IntegerField(
        write_only=True, required=False, allow_null=True, help_text="project id (create only)"
    )
    classes = serializers.ListField(
        child=serializers.DictField(),
        write_only=True,
        required=False,
        max_length=MAX_CLASSES,
        help_text="class list [{name, color, shortcut, is_ignore, is_group, attribute_schema}]",
    )

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
            "archived",
            "archived_at",
            "created_at",
            "updated_at",
            "copy_classes_from",
            "classes",
        ]
        read_only_fields = [
            "id",
            "role",
            "panorama_count",
            "archived",
            "archived_at",
            "created_at",
            "updated_at",
        ]

    def get_role(self, project: Project) -> str | None:
        request = self.context.get("request")
        return role_of(request.user, project) if request else None

    def get_archived(self, project: Project) -> bool:
        return project.archived_at is not None

    def validate_classes(self, items: list[dict]) -> list[dict]:
        """Each pasted class is validated like a class created through /api/classes/."""
        cleaned, errors, names = [], {}, set()
        for k, item in enumerate(items):
            body = {key: item[key] for key in CLASS_COPY_FIELDS if key in item}
            body.setdefault("order", k)
            one = LabelClassSerializer(data=body, context={"without_project": True})
            if not one.is_valid():
                errors[str(k)] = one.errors
                continue
            data = dict(one.validated_data)
            if data["name"] in names:
                errors[str(k)] = {"name": [f"the name {data['name']!r} appears twice"]}
                continue
            names.add(data["name"])
            cleaned.append(data)
        shortcuts = [c["shortcut"] for c in cleaned if c.get("shortcut")]
        if len(shortcuts) != len(set(shortcuts)):
            errors["shortcut"] = ["two classes have the same shortcut"]
        if errors:
            raise serializers.ValidationError(errors)
        return cleaned

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and ("classes" in attrs or "copy_classes_from" in attrs):
            raise serializers.ValidationError(
                {"classes": "classes are set when a project is created; edit them as classes"}
            )
        if attrs.get("classes") and attrs.get("copy_classes_from"):
            raise serializers.ValidationError(
                {"classes": "give either a class list or a project to copy from, not both"}
            )
        return attrs

    def update(self, instance: Project, validated_data: dict) -> Project:
        """``settings`` is merged key by key (a key sent as null is removed): the keys belong
        to different owners (pre-labelling, detectors, datasets …), and a page that edits one
        must not wipe the others — nor a key a job wrote meanwhile (hence the row lock)."""
        patch = validated_data.pop("settings", None)
        with transaction.atomic():
            if patch is not None:
                current = Project.objects.select_for_update().get(pk=instance.pk).settings
                merged = dict(current or {})
                for key, value in patch.items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                instance.settings = merged
            return super().update(instance, validated_data)

    def validate_settings(self, value: dict) -> dict:
        """Keys of other apps are checked by them (``dataset``: datasets.metadata)."""
        from datasets.metadata import MetadataError, check_settings

        if not isinstance(value, dict):
            raise serializers.ValidationError("settings must be an object of keys")
        try:
            check_settings(value)
        except MetadataError as exc:
            raise serializers.ValidationError({"dataset": str(exc)}) from exc
        return value

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


#: Keys the workspace keeps for its tools (frontend/src/workspace/keys.ts): a class
#: shortcut on one of them would never fire.
RESERVED_SHORTCUTS = set("abcdefhlnstvx/+-=[]?` ")

#: The fields of a class that travel when classes are copied or pasted.
CLASS_COPY_FIELDS = (
    "name",
    "color",
    "order",
    "is_ignore",
    "is_group",
    "shortcut",
    "attribute_schema",
)


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
            "shortcut",
            "attribute_schema",
            "instance_count",
        ]
        read_only_fields = ["id", "instance_count"]

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("without_project"):
            fields.pop("project")
        return fields

    def get_validators(self):
        # the (project, name) uniqueness check needs the project; pasted classes have none yet
        return [] if self.context.get("without_project") else super().get_validators()

    def validate_color(self, value: str) -> str:
        if not HEX_COLOR.match(value):
            raise serializers.ValidationError("colour must be #rrggbb")
        return value.lower()

    def validate_shortcut(self, value: str) -> str:
        value = value.lower()
        if value and value in RESERVED_SHORTCUTS:
            raise serializers.ValidationError(
                f"“{value}” is a workspace tool key; pick another key (digits are free)"
            )
        return value

    def validate_attribute_schema(self, value: object) -> list:
        errors = schema_errors(value)
        if errors:
            raise serializers.ValidationError(errors)
        return normalise_schema(value)

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and "project" in attrs:
            if attrs["project"] != self.instance.project:
                raise serializers.ValidationError({"project": "a class cannot change project"})
        project = attrs.get("project") or (self.instance.project if self.instance else None)
        shortcut = attrs.get("shortcut")
        if project is not None and shortcut:
            clash = LabelClass.objects.filter(project=project, shortcut=shortcut)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            other = clash.first()
            if other is not None:
                raise serializers.ValidationError(
                    {"shortcut": f"“{shortcut}” already picks the class {other.name}"}
                )
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
    can_edit = serializers.SerializerMethodField(
        help_text="whether the requesting user may write the annotations now (role and state)"
    )
    edit_lock = serializers.SerializerMethodField(
        help_text="why the workflow state keeps the requesting user from editing (or null)"
    )

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
            "can_edit",
            "edit_lock",
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

    def _user(self):
        request = self.context.get("request")
        return request.user if request is not None else None

    def get_can_edit(self, panorama: Panorama) -> bool:
        user = self._user()
        if user is None or not user.is_authenticated or not may_annotate(user, panorama):
            return False
        return edit_lock(user, panorama) is None

    def get_edit_lock(self, panorama: Panorama) -> str | None:
        user = self._user()
        return edit_lock(user, panorama) if user is not None and user.is_authenticated else None

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
        if label_class and ("attributes" in attrs or "label_class" in attrs):
            values = attrs.get("attributes", self.instance.attributes if self.instance else {})
            problems = values_errors(label_class.attribute_schema, values)
            if problems:
                raise serializers.ValidationError({"attributes": problems})
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
    model_version = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    attributes = serializers.JSONField(required=False, default=dict)


class BulkSaveSerializer(serializers.Serializer):
    revision = serializers.IntegerField(required=False, min_value=0)
    instances = BulkInstanceSerializer(many=True)

    def validate_instances(self, value: list) -> list:
        errors = request_vertex_errors([item.get("geometry") for item in value])
        if errors:
            raise serializers.ValidationError(errors)
        return value


#: Most instances one partial save may name (upserts and deletions each).
MAX_PATCH_ITEMS = 10_000


class PatchSaveSerializer(serializers.Serializer):
    """A partial save: the instances that changed or were added, and the ids deleted."""

    revision = serializers.IntegerField(required=False, min_value=0)
    upsert = BulkInstanceSerializer(many=True, required=False, max_length=MAX_PATCH_ITEMS)
    delete = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=MAX_PATCH_ITEMS,
    )

    def validate_upsert(self, items: list[dict]) -> list[dict]:
        for item in items:
            if item.get("id") is not None and not 1 <= item["id"] < 2**63:
                raise serializers.ValidationError(f"instance id {item['id']} is out of range")
        errors = request_vertex_errors([item.get("geometry") for item in items])
        if errors:
            raise serializers.ValidationError(errors)
        return items


class ReviewEventSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = ReviewEvent
        fields = ["id", "panorama", "username", "action", "comment", "revision", "created_at"]
        read_only_fields = fields


class ReviewRequestSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class AssignSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    panoramas = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=10_000
    )
    next_unassigned = serializers.IntegerField(required=False, min_value=1, max_value=10_000)
    users = serializers.ListField(
        child=serializers.CharField(max_length=150), max_length=100, required=False, default=list
    )
    mode = serializers.ChoiceField(choices=["add", "replace", "remove"], default="add")
    distribute = serializers.BooleanField(default=False)


class ActiveTimeSerializer(serializers.Serializer):
    seconds = serializers.FloatField(min_value=0.0, max_value=300.0)


class UploadSessionSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    size = serializers.IntegerField(min_value=1)
    filename = serializers.CharField(max_length=300)
    panorama = serializers.IntegerField(source="panorama_id", read_only=True)

    class Meta:
        model = UploadSession
        fields = ["id", "project", "filename", "size", "received", "chunks", "panorama", "error"]
        read_only_fields = ["id", "received", "chunks", "panorama", "error"]
