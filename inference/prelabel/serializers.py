"""Request and response shapes of the pre-labelling endpoints, for the OpenAPI schema.

The views in :mod:`inference.prelabel.api` read their bodies field by field (with their own
messages); these serializers describe the same fields so that clients, the API docs and the
schema-driven fuzz test see every endpoint.
"""

from __future__ import annotations

from rest_framework import serializers


class ViewSerializer(serializers.Serializer):
    yaw = serializers.FloatField()
    pitch = serializers.FloatField()
    roll = serializers.FloatField(required=False, default=0.0)
    hfov = serializers.FloatField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class InteractiveRequestSerializer(serializers.Serializer):
    panorama = serializers.IntegerField()
    view = ViewSerializer()
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)
    positive = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()), required=False
    )
    negative = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()), required=False
    )
    tolerance_deg = serializers.FloatField(required=False, default=0.2)
    label_class = serializers.IntegerField(required=False, allow_null=True)


class InteractiveResponseSerializer(serializers.Serializer):
    geometry = serializers.JSONField()
    score = serializers.FloatField()
    label_class = serializers.IntegerField(allow_null=True)
    timings = serializers.DictField(child=serializers.FloatField())


_ID = {"min_value": 1, "max_value": 2**63 - 1}


class RunRequestSerializer(serializers.Serializer):
    """Ids bounded to what the database holds; the job checks the parameter ranges."""

    project = serializers.IntegerField(required=False, **_ID)
    panoramas = serializers.ListField(child=serializers.IntegerField(**_ID), required=False)
    weights = serializers.IntegerField(required=False, allow_null=True, **_ID)
    min_score = serializers.FloatField(required=False)
    tolerance_deg = serializers.FloatField(required=False)


class TrainRequestSerializer(serializers.Serializer):
    """The project, and optional training params (see docs/prelabel.md for their ranges)."""

    project = serializers.IntegerField()
    iterations = serializers.IntegerField(required=False)
    views_per_panorama = serializers.IntegerField(required=False)
    view_size = serializers.IntegerField(required=False)
    width = serializers.IntegerField(required=False)
    seed = serializers.IntegerField(required=False)
    panorama_width = serializers.IntegerField(required=False)
    validations = serializers.IntegerField(required=False)
    predict_view_size = serializers.IntegerField(required=False)
    hfov_min = serializers.FloatField(required=False)
    hfov_max = serializers.FloatField(required=False)
    focus_fraction = serializers.FloatField(required=False)
    pole_fraction = serializers.FloatField(required=False)
    class_weight_power = serializers.FloatField(required=False)
    activate = serializers.CharField(required=False)


class JobQueuedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label_class = serializers.IntegerField()
    class_name = serializers.CharField()
    geometry = serializers.JSONField()
    score = serializers.FloatField(allow_null=True)
    model_version = serializers.CharField()
    order = serializers.IntegerField()


class SuggestionsResponseSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    suggestions = SuggestionSerializer(many=True)


class AcceptRequestSerializer(serializers.Serializer):
    panorama = serializers.IntegerField()
    revision = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    min_score = serializers.FloatField(required=False)


class AcceptResponseSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    revision = serializers.IntegerField()


class RejectRequestSerializer(serializers.Serializer):
    panorama = serializers.IntegerField()
    revision = serializers.IntegerField()
    ids = serializers.ListField(child=serializers.IntegerField())


class RejectResponseSerializer(serializers.Serializer):
    rejected = serializers.IntegerField()
    revision = serializers.IntegerField()


class MappingRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    weights = serializers.IntegerField()
    mapping = serializers.DictField(
        child=serializers.CharField(), help_text="model class name → project class name"
    )


class MappingResponseSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    weights = serializers.IntegerField()
    model_classes = serializers.ListField(child=serializers.CharField(), required=False)
    mapping = serializers.DictField(child=serializers.CharField())


class StatusResponseSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    role = serializers.CharField(allow_null=True)
    project_model = serializers.DictField(allow_null=True)
    class_mappings = serializers.DictField()


class ModelVersionsResponseSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    active = serializers.IntegerField(allow_null=True)
    versions = serializers.ListField(child=serializers.DictField())
    history = serializers.ListField(child=serializers.DictField())


class ActivateRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    weights = serializers.IntegerField()


class RollbackRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField()


class ActiveModelSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    active = serializers.IntegerField()


class ProvenanceResponseSerializer(serializers.Serializer):
    panorama = serializers.IntegerField()
    models = serializers.DictField(child=serializers.DictField(), help_text="by model_version")
