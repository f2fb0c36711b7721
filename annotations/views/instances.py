"""Views of instances: a panorama's whole instance set (read, bulk save, partial save) and
its label maps, as a mixin of the panorama viewset, and single instances
(``/api/instances/``). Every write carries the panorama revision it was based on."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from .. import masks
from ..instance_rows import instance_rows, instance_rows_of
from ..models import Instance, Panorama
from ..permissions import (
    ProjectRolePermission,
    is_admin,
    may_annotate,
    require_annotation_write,
    role_of,
)
from ..serializers import BulkSaveSerializer, InstanceSerializer, PatchSaveSerializer
from ..services import (
    BulkValidationError,
    PatchValidationError,
    RevisionConflict,
    patch_instances,
    replace_instances,
    write_annotations,
)
from .common import base_revision, conflict_response, positive_int, require_revision

#: The body of GET and PUT ``panoramas/{id}/instances/``: every instance, in drawing order.
PANORAMA_INSTANCES = inline_serializer(
    "PanoramaInstances",
    {"revision": serializers.IntegerField(), "instances": InstanceSerializer(many=True)},
)
#: The body of PATCH ``panoramas/{id}/instances/``: the instances it wrote, the ids deleted.
PANORAMA_INSTANCES_PATCH = inline_serializer(
    "PanoramaInstancesPatch",
    {
        "revision": serializers.IntegerField(),
        "instances": InstanceSerializer(many=True),
        "deleted": serializers.ListField(child=serializers.IntegerField()),
    },
)


class PanoramaInstancesMixin:
    """``instances`` (GET, PUT, PATCH) and the label maps ``labels`` and ``labels/legend``."""

    @extend_schema(methods=["PUT"], request=BulkSaveSerializer, responses=PANORAMA_INSTANCES)
    @extend_schema(
        methods=["PATCH"], request=PatchSaveSerializer, responses=PANORAMA_INSTANCES_PATCH
    )
    @extend_schema(methods=["GET"], responses=PANORAMA_INSTANCES)
    @action(detail=True, methods=["get", "put", "patch"], url_path="instances")
    def instances(self, request, pk=None):
        """GET the panorama's instances; PUT replaces the whole set atomically (bulk save);
        PATCH changes part of it (what autosave sends).

        PUT body: {"revision": n, "instances": [{id?, label_class, geometry, ...}, ...]}.
        PATCH body: {"revision": n, "upsert": [{id?, ...}, ...], "delete": [ids]}: items
        with an id are updated, items without one created (on top of the drawing order),
        the ids in ``delete`` deleted; nothing else is touched. Both take the revision as
        If-Match instead if preferred. A stale revision answers 409 with the current one;
        any invalid instance answers 400 naming it, and nothing is written.
        """
        panorama = self.get_object()
        if request.method == "PATCH":
            return self._patch_instances(request, panorama)
        if request.method == "GET":
            # the drawing order of Meta.ordering, without its join through the panorama
            # and project tables (every row has the same panorama)
            rows = instance_rows(Instance.objects.filter(panorama=panorama).order_by("order", "id"))
            return Response(
                {"revision": panorama.revision, "instances": rows},
                headers={"ETag": f'"{panorama.revision}"'},
            )
        require_annotation_write(request.user, panorama)
        payload = BulkSaveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        revision = base_revision(request)
        try:
            saved, new_revision = write_annotations(
                panorama,
                revision,
                lambda locked: replace_instances(
                    locked, payload.validated_data["instances"], request.user
                ),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        except BulkValidationError as exc:
            return Response(
                {
                    "detail": "Invalid instances; nothing was saved.",
                    "instances": {str(k): v for k, v in exc.errors.items()},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {"revision": new_revision, "instances": instance_rows_of(saved)},
            headers={"ETag": f'"{new_revision}"'},
        )

    def _patch_instances(self, request, panorama: Panorama) -> Response:
        require_annotation_write(request.user, panorama)
        payload = PatchSaveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upserts = payload.validated_data.get("upsert", [])
        delete = payload.validated_data.get("delete", [])
        try:
            (saved, deleted), new_revision = write_annotations(
                panorama,
                require_revision(request),
                lambda locked: patch_instances(locked, upserts, delete, request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        except PatchValidationError as exc:
            return Response(
                {
                    "detail": "Invalid changes; nothing was saved.",
                    "upsert": {str(k): v for k, v in exc.upsert.items()},
                    "delete": exc.delete,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "revision": new_revision,
                "instances": instance_rows_of(saved),
                "deleted": deleted,
            },
            headers={"ETag": f'"{new_revision}"'},
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("width", int, description="mask width (height = width/2)"),
            OpenApiParameter("by", str, enum=["instance", "class"]),
        ],
        responses={(200, "image/png"): bytes},
    )
    @action(detail=True, methods=["get"])
    def labels(self, request, pk=None):
        """16-bit PNG label map on the equirectangular grid.

        The legend (label value → instance or class id) is at ``labels/legend/``: a legend of
        thousands of instances does not fit in a header that proxies accept. The response
        names it in ``X-Label-Legend-URL`` (pinned to ``X-Label-Revision``, the revision the
        map was drawn from, so a stale pair answers 409 instead of a wrong legend).
        """
        from urllib.parse import urlencode

        panorama = self.get_object()  # read before the instances: see label_legend
        width = positive_int(request.query_params.get("width"), "width") or panorama.width
        by = _label_map_by(request)
        data, _ = masks.label_map_png(panorama, width - width % 2, by)
        response = HttpResponse(data, content_type="image/png")
        query = urlencode({"by": by, "revision": panorama.revision})
        response["X-Label-Legend-URL"] = f"/api/panoramas/{panorama.pk}/labels/legend/?{query}"
        response["X-Label-Revision"] = str(panorama.revision)
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=["instance", "class"]),
            OpenApiParameter(
                "revision", int, description="answer 409 unless the panorama is at this revision"
            ),
        ],
        responses={200: dict},
    )
    @action(detail=True, methods=["get"], url_path="labels/legend")
    def label_legend(self, request, pk=None):
        """The legend of ``labels/``: ``{panorama, by, revision, legend: {value: id}}``.

        With ``revision`` (as named by the label map's ``X-Label-Legend-URL``), a panorama
        changed since answers 409 with ``current_revision``. The revision is read again after
        the legend: writes bump it in the same transaction as the instances they change, so an
        unchanged revision means the legend is the one of that revision.
        """
        panorama = self.get_object()
        by = _label_map_by(request)
        wanted = base_revision(request)
        legend = masks.label_legend(panorama, by)
        current = Panorama.objects.values_list("revision", flat=True).get(pk=panorama.pk)
        if wanted is not None and (wanted != current or panorama.revision != current):
            return conflict_response(RevisionConflict(current))
        return Response(
            {
                "panorama": panorama.pk,
                "by": by,
                "revision": current,
                "legend": {str(value): ident for value, ident in legend.items()},
            },
            headers={"ETag": f'"{current}"'},
        )


def _label_map_by(request: Request) -> str:
    by = request.query_params.get("by", "instance")
    if by not in {"instance", "class"}:
        raise ValidationError({"by": "instance or class"})
    return by


class InstanceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Single instances. Every write carries the panorama revision (If-Match or field)."""

    serializer_class = InstanceSerializer
    permission_classes = [ProjectRolePermission]
    filterset_fields = ["panorama", "label_class", "source", "is_suggestion"]
    project_path = "panorama__project"

    def project_id_of(self, obj: Instance) -> int:
        return obj.panorama.project_id

    def write_check(self, request, obj: Instance) -> bool:
        return may_annotate(request.user, obj.panorama)  # the state is checked by the write

    def get_queryset(self):
        queryset = Instance.objects.select_related("panorama", "label_class")
        if is_admin(self.request.user):
            return queryset
        return queryset.filter(panorama__project__memberships__user=self.request.user)

    @extend_schema(parameters=[OpenApiParameter("width", int)])
    @action(detail=True, methods=["get"])
    def mask(self, request, pk=None):
        """8-bit PNG mask of the instance on the equirectangular grid (exact rasterisation)."""
        instance = self.get_object()
        width = positive_int(request.query_params.get("width"), "width")
        width = width or instance.panorama.width
        return HttpResponse(
            masks.instance_mask_png(instance, width - width % 2), content_type="image/png"
        )

    def _respond(self, instance: Instance | None, revision: int, code: int) -> Response:
        body = InstanceSerializer(instance).data if instance is not None else {}
        body = {**body, "revision": revision}
        return Response(body, status=code, headers={"ETag": f'"{revision}"'})

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        panorama = serializer.validated_data["panorama"]
        if role_of(request.user, panorama.project_id) is None:
            raise NotFound("No such panorama.")
        require_annotation_write(request.user, panorama)
        revision = require_revision(request)
        try:
            instance, new_revision = write_annotations(
                panorama,
                revision,
                lambda locked: serializer.save(created_by=request.user, updated_by=request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return self._respond(instance, new_revision, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        require_annotation_write(request.user, instance.panorama)
        serializer = self.get_serializer(instance, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        revision = require_revision(request)
        try:
            saved, new_revision = write_annotations(
                instance.panorama,
                revision,
                lambda locked: serializer.save(updated_by=request.user),
                user=request.user,
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return self._respond(saved, new_revision, status.HTTP_200_OK)

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        require_annotation_write(request.user, instance.panorama)
        revision = require_revision(request)
        try:
            _, new_revision = write_annotations(
                instance.panorama, revision, lambda locked: instance.delete(), user=request.user
            )
        except RevisionConflict as exc:
            return conflict_response(exc)
        return Response(
            {"revision": new_revision},
            status=status.HTTP_200_OK,
            headers={"ETag": f'"{new_revision}"'},
        )
