"""The instance list of a panorama (GET, and the PUT/PATCH answers) is built from plain rows
(annotations/instance_rows.py): byte for byte what InstanceSerializer renders, in a number
of queries that does not grow with the number of instances."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from annotations.instance_rows import COLUMNS, instance_rows, instance_rows_of
from annotations.models import Instance
from annotations.serializers import InstanceSerializer

from ..factories import make_panorama, square_geometry

pytestmark = pytest.mark.django_db


def render(data) -> bytes:
    return JSONRenderer().render(data)


def url(panorama) -> str:
    return f"/api/panoramas/{panorama.pk}/instances/"


@pytest.fixture
def varied(panorama, project, users):
    """Instances that exercise every field: suggestions with and without a score,
    attributes, multi-part geometry with a hole, created_by set and None, awkward floats
    and timestamps with and without microseconds."""
    car, building = project.classes.all()
    two_parts = [
        [
            [[-20.0, -10.0], [20.0, -10.0], [20.0, 10.0], [-20.0, 10.0]],
            [[-5.0, -2.5], [-5.0, 2.5], [5.0, 2.5], [5.0, -2.5]],
        ],
        [[[100.0, 0.1 + 0.2], [110.0, 0.1 + 0.2], [110.0, 1e-7 + 5.0], [100.0, 5.0]]],
    ]
    made = [
        Instance.objects.create(
            panorama=panorama,
            label_class=car,
            geometry=square_geometry(-120.0, 0.0),
            created_by=users["annotator"],
            updated_by=users["annotator"],
            order=0,
        ),
        Instance.objects.create(
            panorama=panorama,
            label_class=building,
            geometry=two_parts,
            source="model",
            is_suggestion=True,
            score=0.8765432109876543,
            model_version="detector-v2 «β»",
            order=1,
            attributes={"occluded": True, "note": "ünïcode \u2028 line", "parts": [1, 2.5]},
        ),
        Instance.objects.create(
            panorama=panorama,
            label_class=car,
            geometry=square_geometry(60.0, 30.0, half=3.3333333333333335),
            source="model",
            is_suggestion=True,
            score=None,
            order=2,
        ),
        Instance.objects.create(
            panorama=panorama,
            label_class=car,
            geometry=square_geometry(150.0, -40.0),
            source="import",
            score=1.0,
            order=3,
            created_by=users["manager"],
            updated_by=None,
            attributes={},
        ),
    ]
    # a timestamp without microseconds (isoformat leaves out the fraction)
    Instance.objects.filter(pk=made[3].pk).update(
        created_at=dt.datetime(2024, 2, 29, 23, 59, 59, tzinfo=dt.UTC)
    )
    # an instance of another panorama stays out of the list
    other = make_panorama(project, seed=7)
    Instance.objects.create(panorama=other, label_class=car, geometry=square_geometry())
    return made


def serializer_rendering(panorama) -> bytes:
    queryset = Instance.objects.filter(panorama=panorama)
    return render(InstanceSerializer(queryset, many=True).data)


def test_row_keys_follow_the_serializer():
    assert list(COLUMNS) == list(InstanceSerializer.Meta.fields)


def test_rows_render_exactly_as_the_serializer(panorama, varied):
    rows = instance_rows(Instance.objects.filter(panorama=panorama))
    assert len(rows) == 4
    assert render(rows) == serializer_rendering(panorama)
    # the same from objects in memory (what a save answers with)
    objects = list(Instance.objects.filter(panorama=panorama))
    assert render(instance_rows_of(objects)) == render(InstanceSerializer(objects, many=True).data)


def test_get_answers_the_serializer_bytes(panorama, varied, users, client_for):
    panorama.refresh_from_db()
    for who in ("annotator", "viewer", "admin"):
        response = client_for(users[who]).get(url(panorama))
        assert response.status_code == 200
        assert response["ETag"] == f'"{panorama.revision}"'
        expected = render(
            {
                "revision": panorama.revision,
                "instances": InstanceSerializer(
                    Instance.objects.filter(panorama=panorama), many=True
                ).data,
            }
        )
        assert response.content == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"TIME_ZONE": "America/St_Johns"},  # a half-hour offset, not written as Z
        {"TIME_ZONE": "Asia/Kolkata", "REST_FRAMEWORK_DATETIME_FORMAT": "%d.%m.%Y %H:%M:%S"},
    ],
)
def test_rows_follow_the_datetime_settings(panorama, varied, settings, changes):
    if "TIME_ZONE" in changes:
        settings.TIME_ZONE = changes["TIME_ZONE"]
    if "REST_FRAMEWORK_DATETIME_FORMAT" in changes:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DATETIME_FORMAT": changes["REST_FRAMEWORK_DATETIME_FORMAT"],
        }
    rows = instance_rows(Instance.objects.filter(panorama=panorama))
    assert render(rows) == serializer_rendering(panorama)
    assert not rows[0]["created_at"].endswith("Z")


def test_put_and_patch_answers_match_the_stored_rows(panorama, project, users, client_for):
    client = client_for(users["annotator"])
    car, building = project.classes.all()
    put = client.put(
        url(panorama),
        {
            "revision": 0,
            "instances": [
                {"label_class": car.pk, "geometry": square_geometry(k * 50.0)} for k in range(3)
            ]
            + [
                {
                    "label_class": building.pk,
                    "geometry": square_geometry(-100.0, 20.0),
                    "source": "model",
                    "is_suggestion": True,
                    "score": 0.25,
                    "model_version": "m1",
                }
            ],
        },
        format="json",
    )
    assert put.status_code == 200, put.json()
    # the PUT answers the whole set, as a GET then lists it
    expected = render(put.json()["instances"])
    assert expected == serializer_rendering(panorama)
    assert render(client.get(url(panorama)).json()["instances"]) == expected

    ids = [row["id"] for row in put.json()["instances"]]
    patched = client.patch(
        url(panorama),
        {
            "revision": put.json()["revision"],
            "upsert": [
                {"id": ids[1], "label_class": building.pk, "geometry": square_geometry(7.0)},
                {"label_class": car.pk, "geometry": square_geometry(170.0), "score": 2},
            ],
            "delete": [ids[0]],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    body = patched.json()
    assert body["deleted"] == [ids[0]]
    written = [row["id"] for row in body["instances"]]
    stored = {i.pk: i for i in Instance.objects.filter(pk__in=written)}
    assert render(body["instances"]) == render(
        InstanceSerializer([stored[pk] for pk in written], many=True).data
    )
    assert body["instances"][1]["score"] == 2.0


def test_get_needs_the_same_queries_for_few_and_many_instances(
    panorama, project, users, client_for
):
    car = project.classes.first()

    def listing_queries() -> list[str]:
        # a fresh user object each time: no role cached from an earlier request
        client = client_for(type(users["annotator"]).objects.get(pk=users["annotator"].pk))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url(panorama))
        assert response.status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    Instance.objects.create(panorama=panorama, label_class=car, geometry=square_geometry())
    few = listing_queries()
    Instance.objects.bulk_create(
        Instance(panorama=panorama, label_class=car, geometry=square_geometry(k), order=k)
        for k in range(1, 60)
    )
    many = listing_queries()
    assert len(many) == len(few) <= 5
    instance_queries = [sql for sql in many if 'FROM "annotations_instance"' in sql]
    assert len(instance_queries) == 1
    # one panorama's instances are ordered by their own columns: no join for the ordering
    assert "JOIN" not in instance_queries[0]
