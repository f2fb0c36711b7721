"""Bounded geometry input at the API: vertex limits answer a clear 400, big bodies 413, and a
long self-crossing ring is refused (validation is a sweep, not every pair: bench/validation.py
measures it)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.geometry import geometry_errors
from label360.sphere.polygons import MAX_GEOMETRY_VERTICES, MAX_RING_VERTICES

pytestmark = pytest.mark.django_db


def _circle(n: int, radius: float = 10.0, lon: float = 0.0) -> list:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    return np.stack([lon + radius * np.cos(t), radius * np.sin(t)], axis=1).tolist()


def _put(client, panorama, instances):
    panorama.refresh_from_db()
    return client.put(
        f"/api/panoramas/{panorama.pk}/instances/",
        {"revision": panorama.revision, "instances": instances},
        format="json",
    )


def test_ring_over_the_vertex_limit_is_a_clear_400(project, panorama, users, client_for):
    car = project.classes.get(name="car").pk
    client = client_for(users["annotator"])
    response = _put(
        client, panorama, [{"label_class": car, "geometry": [[_circle(MAX_RING_VERTICES + 1)]]}]
    )
    assert response.status_code == 400
    text = json.dumps(response.json())
    assert f"at most {MAX_RING_VERTICES}" in text


def test_long_self_crossing_ring_is_refused_fast(project, panorama, users, client_for):
    car = project.classes.get(name="car").pk
    ring = np.random.default_rng(0).uniform(-40, 40, (10_000, 2)).tolist()
    response = _put(
        client_for(users["annotator"]), panorama, [{"label_class": car, "geometry": [[ring]]}]
    )
    assert response.status_code == 400
    assert "crosses itself" in json.dumps(response.json())


def test_request_vertex_limit(project, panorama, users, client_for, settings):
    settings.LABEL360_MAX_REQUEST_VERTICES = 1000
    car = project.classes.get(name="car").pk
    items = [
        {"label_class": car, "geometry": [[_circle(300, 2.0, lon=10.0 * k)]]} for k in range(4)
    ]
    response = _put(client_for(users["annotator"]), panorama, items)
    assert response.status_code == 400
    assert "at most 1000" in json.dumps(response.json())
    settings.LABEL360_MAX_REQUEST_VERTICES = 10_000
    assert _put(client_for(users["annotator"]), panorama, items).status_code == 200


def test_json_body_over_the_limit_is_413(project, panorama, users, client_for, settings):
    settings.LABEL360_MAX_JSON_BODY_BYTES = 10_000
    car = project.classes.get(name="car").pk
    response = _put(
        client_for(users["annotator"]),
        panorama,
        [{"label_class": car, "geometry": [[_circle(2000)]]}],
    )
    assert response.status_code == 413
    assert "at most 10000" in response.json()["detail"]


def test_geometry_limits_are_counted_before_validation():
    parts = [
        [_circle(1000, 1.0, lon=-170.0 + 3 * k)] for k in range(MAX_GEOMETRY_VERTICES // 1000 + 1)
    ]
    (message,) = geometry_errors(parts)
    assert f"at most {MAX_GEOMETRY_VERTICES}" in message


json_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([1e8, -1e8, 1e300, 180.0, -180.0, 90.0, -90.0]),
)
json_values = st.recursive(
    st.one_of(json_numbers, st.none(), st.booleans(), st.text(max_size=3)),
    lambda inner: st.lists(inner, max_size=6),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_geometry_errors_never_raise(value):
    """Any JSON value is either valid geometry or a list of readable problems."""
    problems = geometry_errors(value)
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
