"""Sequence API shapes."""

from __future__ import annotations

from rest_framework import serializers

from .models import Sequence, SequenceFrame


class SequenceFrameSerializer(serializers.ModelSerializer):
    class Meta:
        model = SequenceFrame
        fields = ["index", "panorama", "timestamp", "source_frame"]


class SequenceSerializer(serializers.ModelSerializer):
    frame_total = serializers.SerializerMethodField()

    class Meta:
        model = Sequence
        fields = ["id", "project", "name", "source", "status", "error", "fps", "sample_fps",
                  "duration", "frame_count", "frame_total", "width", "height", "codec",
                  "has_audio", "size_bytes", "created_at"]  # fmt: skip
        read_only_fields = fields

    def get_frame_total(self, sequence: Sequence) -> int:
        return sequence.frames.count()


class SequenceCreateSerializer(serializers.Serializer):
    """Either a video ``file`` (multipart) with ``sample_fps``, or ``panoramas`` (ids in
    order) with ``fps``."""

    project = serializers.IntegerField()
    name = serializers.CharField(max_length=300, required=False, allow_blank=True)
    file = serializers.FileField(required=False)
    sample_fps = serializers.FloatField(required=False, min_value=0.01, max_value=240)
    panoramas = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=100_000
    )
    fps = serializers.FloatField(required=False, min_value=0.01, max_value=240, default=1.0)

    def validate(self, data):
        if bool(data.get("file")) == bool(data.get("panoramas")):
            raise serializers.ValidationError("give either a video 'file' or 'panoramas'")
        return data
