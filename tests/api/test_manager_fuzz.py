"""Property-based fuzzing of the manager entry points: whatever the body, the answer is a clear
4xx (or success) — never a 500 — and a refused request changes nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.attributes import schema_errors, values_errors
from annotations.models import LabelClass, Project, UploadSession

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
schema_items = st.fixed_dictionaries(
    {
        "name": st.one_of(st.text(max_size=70), json_scalars),
        "type": st.sampled_from(["bool", "str", "enum", "int", 3]),
    },
    optional={
        "options": st.one_of(st.lists(st.text(max_size=5), max_size=70), json_values),
        "default": json_values,
        "extra": json_values,
    },
)


@FUZZ
@given(schema=st.one_of(json_values, st.lists(schema_items, max_size=40)), values=json_values)
def test_attribute_validators_never_raise(schema, values):
    errors = schema_errors(schema)
    assert isinstance(errors, list)
    if not errors:
        assert isinstance(values_errors(schema, values), list)


@FUZZ
@given(
    body=st.dictionaries(
        st.sampled_from(["name", "classes", "copy_classes_from", "default_fov", "description"]),
        json_values,
        max_size=5,
    )
)
def test_project_create_body(users, client_for, body):
    before = Project.objects.count()
    response = client_for(users["admin"]).post("/api/projects/", body, format="json")
    assert response.status_code in (201, 400), response.content[:300]
    if response.status_code == 400:
        assert Project.objects.count() == before


@FUZZ
@given(
    body=st.dictionaries(
        st.sampled_from(["panoramas", "next_unassigned", "users", "mode", "distribute", "project"]),
        json_values,
        max_size=6,
    )
)
def test_assign_body(users, project, client_for, body):
    body.setdefault("project", project.pk)
    response = client_for(users["manager"]).post("/api/panoramas/assign/", body, format="json")
    assert response.status_code in (200, 400, 404), response.content[:300]


@FUZZ
@given(body=st.one_of(json_values, st.dictionaries(st.just("seconds"), json_values)))
def test_active_time_body(users, panorama, client_for, body):
    response = client_for(users["annotator"]).post(
        f"/api/panoramas/{panorama.pk}/active-time/", body, format="json"
    )
    assert response.status_code in (200, 400), response.content[:300]


@FUZZ
@given(
    body=st.dictionaries(
        st.sampled_from(["name", "color", "shortcut", "attribute_schema", "order", "is_ignore"]),
        json_values,
        max_size=6,
    )
)
def test_class_body(users, project, client_for, body):
    car = LabelClass.objects.get(project=project, name="car")
    before = (car.name, car.color, car.shortcut, car.attribute_schema)
    response = client_for(users["manager"]).patch(f"/api/classes/{car.pk}/", body, format="json")
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        car.refresh_from_db()
        assert (car.name, car.color, car.shortcut, car.attribute_schema) == before


@FUZZ
@given(order=json_values)
def test_reorder_body(users, project, client_for, order):
    response = client_for(users["manager"]).post(
        "/api/classes/reorder/", {"project": project.pk, "order": order}, format="json"
    )
    assert response.status_code in (200, 400), response.content[:300]


@FUZZ
@given(offset=st.one_of(st.integers(-10, 2**62), st.text(max_size=8)), data=st.binary(max_size=64))
def test_chunk_requests(users, project, client_for, offset, data):
    client = client_for(users["manager"])
    session = UploadSession.objects.create(
        project=project, user=users["manager"], filename="f.jpg", size=32
    )
    response = client.put(
        f"/api/uploads/{session.pk}/chunk/?offset={offset}",
        data,
        content_type="application/octet-stream",
    )
    assert response.status_code in (200, 400, 409), response.content[:300]
    session.refresh_from_db()
    assert session.received <= session.size
    complete = client.post(f"/api/uploads/{session.pk}/complete/")
    assert complete.status_code in (201, 400, 409), complete.content[:300]
