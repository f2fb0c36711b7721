"""The detector mapping endpoint, and how detections become classes (plates by shape)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import LabelClass
from inference.detectors.classes import map_detections, plate_like, quad_shape
from inference.detectors.scan import Detection
from label360.sphere import View

URL = "/api/detectors/mapping/"


def _box(lon, lat, width_deg, height_deg, roll=0.0):
    """A box of the given angular size centred at (lon, lat), as seen level (roll 0)."""
    f = 1000.0
    w = 2 * f * np.tan(np.radians(width_deg) / 2)
    h = 2 * f * np.tan(np.radians(height_deg) / 2)
    view = View(lon, lat, roll, 90.0, 2000, 2000)
    xs = np.array([1000 - w / 2, 1000 + w / 2, 1000 + w / 2, 1000 - w / 2]) - 0.5
    ys = np.array([1000 - h / 2, 1000 - h / 2, 1000 + h / 2, 1000 + h / 2]) - 0.5
    lo, la = view.pixel_to_lonlat(xs, ys)
    return [[np.stack([lo, la], axis=1).tolist()]]


def _det(kind, geometry, lat, text="", score=0.9, text_score=0.95):
    return Detection(kind, geometry, score, 5.0, (0.0, lat), text=text, text_score=text_score)


def test_quad_shape_measures_sides_on_the_sphere():
    long_side, short_side, tilt = quad_shape(_box(20.0, -10.0, 12.0, 3.0))
    assert long_side == pytest.approx(12.0, rel=0.02)
    assert short_side == pytest.approx(3.0, rel=0.02)
    assert tilt < 1.0
    assert quad_shape(_box(20.0, -10.0, 12.0, 3.0, roll=40.0))[2] == pytest.approx(40.0, abs=2)


def test_plates_by_aspect_position_and_content():
    plate = _box(30.0, -12.0, 10.0, 2.2)
    assert plate_like(plate, -12.0, "AB 123 CD")
    assert plate_like(plate, -12.0)  # nothing read: shape and place decide
    assert not plate_like(plate, -12.0, "the markers")  # lower-case words are not plates
    assert not plate_like(_box(30.0, 20.0, 10.0, 2.2), 20.0, "AB123")  # above the horizon
    assert not plate_like(_box(30.0, -12.0, 10.0, 0.8), -12.0, "AB123")  # 12:1, a text line
    assert not plate_like(_box(30.0, -12.0, 10.0, 2.2, roll=45), -12.0, "AB123")  # tilted
    assert not plate_like(_box(30.0, -12.0, 40.0, 9.0), -12.0, "AB123")  # too big


def test_mapping_sends_plates_to_the_plate_class_and_keeps_the_text():
    dets = [
        _det("text", _box(30.0, -12.0, 10.0, 2.2), -12.0, "KA 0123"),
        _det("text", _box(60.0, 10.0, 20.0, 2.0), 10.0, "Region-based"),
        _det("face", _box(90.0, 0.0, 5.0, 5.0), 0.0),
        _det("face", _box(100.0, 0.0, 5.0, 5.0), 0.0, score=0.3),
    ]
    mapped = map_detections(dets, {"text": "sign", "plate": "plate", "face": "face"}, 0.5)
    assert [(m.class_name, m.output) for m in mapped] == [
        ("plate", "plate"),
        ("sign", "text"),
        ("face", "face"),
    ]
    assert mapped[0].attributes["text"] == "KA 0123"
    assert mapped[0].score == pytest.approx(0.9 * 0.95)
    # without a plate class, a plate-like box stays text; unmapped outputs are dropped
    only_text = map_detections(dets, {"text": "sign"})
    assert [m.output for m in only_text] == ["text", "text"]


@pytest.mark.django_db
def test_mapping_endpoint_roles_and_errors(project, users, client_for, foreign_project):
    LabelClass.objects.create(project=project, name="face", color="#00ff00")
    LabelClass.objects.create(project=project, name="void", color="#000000", is_ignore=True)
    viewer, manager = client_for(users["viewer"]), client_for(users["manager"])
    got = viewer.get(URL, {"project": project.pk})
    assert got.status_code == 200 and got.data["classes"] == {}
    assert got.data["outputs"] == ["face", "text", "plate"] and got.data["weights_missing"] == []
    body = {"project": project.pk, "classes": {"face": "face", "text": "car"}}
    assert viewer.put(URL, body, format="json").status_code == 403
    assert client_for(users["annotator"]).put(URL, body, format="json").status_code == 403
    ok = manager.put(URL, body, format="json")
    assert ok.status_code == 200 and ok.data["classes"] == {"face": "face", "text": "car"}
    assert viewer.get(URL, {"project": project.pk}).data["classes"] == body["classes"]
    bad = manager.put(
        URL,
        {"project": project.pk, "classes": {"face": "unicorn", "hat": "car", "plate": "void"}},
        format="json",
    )
    assert bad.status_code == 400
    text = str(bad.data)
    assert "unicorn" in text and "'hat'" in text and "ignore class" in text
    assert client_for(users["outsider"]).get(URL, {"project": project.pk}).status_code == 404
    assert manager.get(URL, {"project": foreign_project.pk}).status_code == 404
    assert manager.get(URL, {"project": "x"}).status_code == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.dictionaries(st.sampled_from(["project", "classes", "x"]), json_values, max_size=3))
def test_mapping_put_fuzz(project, users, client_for, body):
    """Any JSON body: 200, 400, 403 or 404 — never a server error, never a stored bad mapping."""
    # sent as Python's JSON text: NaN and Infinity too, which a strict server must refuse
    text = json.dumps(body)
    answer = client_for(users["manager"]).put(URL, text, content_type="application/json")
    assert answer.status_code in (200, 400, 404), answer.content
    project.refresh_from_db()
    mapping = (project.settings or {}).get("detectors", {}).get("classes", {})
    names = set(LabelClass.objects.filter(project=project).values_list("name", flat=True))
    assert set(mapping) <= {"face", "text", "plate"} and set(mapping.values()) <= names
