"""A panorama's instance list as JSON-ready rows, without the per-field serializer work.

The annotation workspace loads every instance of a panorama at once (thousands of
polygons), and ``InstanceSerializer(many=True)`` spends most of that request on DRF's
per-field machinery. These rows are the same JSON as ``InstanceSerializer(...).data``:
the same keys in the same order and the same values, datetimes included (formatted as
the serializer's own fields format them), so the rendered response is byte for byte the
same. The rows are read with one ``values_list`` query, or taken from instances already
in memory (what a save returns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from django.db.models import QuerySet
from rest_framework import ISO_8601
from rest_framework.fields import DateTimeField
from rest_framework.settings import api_settings

from .models import Instance

#: The database columns behind each key of a row, in ``InstanceSerializer.Meta.fields`` order.
COLUMNS: dict[str, str] = {
    "id": "id",
    "panorama": "panorama_id",
    "label_class": "label_class_id",
    "geometry": "geometry",
    "source": "source",
    "is_suggestion": "is_suggestion",
    "score": "score",
    "model_version": "model_version",
    "order": "order",
    "attributes": "attributes",
    "created_by": "created_by_id",
    "updated_by": "updated_by_id",
    "created_at": "created_at",
    "updated_at": "updated_at",
}

Row = dict[str, object]


def instance_rows(queryset: QuerySet[Instance]) -> list[Row]:
    """The serialized instances of ``queryset`` (in its order), read in one query."""
    build = _row_builder()
    return [build(values) for values in queryset.values_list(*COLUMNS.values())]


def instance_rows_of(instances: Iterable[Instance]) -> list[Row]:
    """The same rows for instances already in memory (no query)."""
    build = _row_builder()
    return [
        build(tuple(getattr(instance, column) for column in COLUMNS.values()))
        for instance in instances
    ]


def _row_builder() -> Callable[[tuple], Row]:
    # The serializer's own datetime fields decide the text (output format and time zone
    # as the settings are now), so a settings change is followed here too.
    from .serializers import InstanceSerializer

    fields = InstanceSerializer().fields
    created_text = _datetime_text(fields["created_at"])
    updated_text = _datetime_text(fields["updated_at"])

    def build(values: tuple) -> Row:
        (
            pk,
            panorama,
            label_class,
            geometry,
            source,
            is_suggestion,
            score,
            model_version,
            order,
            attributes,
            created_by,
            updated_by,
            created_at,
            updated_at,
        ) = values
        return {
            "id": pk,
            "panorama": panorama,
            "label_class": label_class,
            "geometry": geometry,
            "source": source,
            "is_suggestion": is_suggestion,
            "score": None if score is None else float(score),
            "model_version": model_version,
            "order": order,
            "attributes": attributes,
            "created_by": created_by,
            "updated_by": updated_by,
            "created_at": created_text(created_at),
            "updated_at": updated_text(updated_at),
        }

    return build


def _datetime_text(field: DateTimeField) -> Callable[[datetime | None], str | None]:
    """``field.to_representation``, with a shortcut for the common case.

    DRF's method costs several microseconds a call (tens of milliseconds for a large
    panorama). With ISO 8601 output and time zones on, it is ``astimezone`` then
    ``isoformat`` with ``+00:00`` written ``Z``; anything else goes through DRF itself.
    """
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None or not isinstance(output_format, str) or output_format.lower() != ISO_8601:
        return field.to_representation
    slow = field.to_representation

    def text(value: datetime | None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            return slow(value)
        try:
            written = value.astimezone(zone).isoformat()
        except OverflowError:
            return slow(value)  # DRF's own error
        return written[:-6] + "Z" if written.endswith("+00:00") else written

    return text
