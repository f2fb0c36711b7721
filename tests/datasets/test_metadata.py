"""COCO ``info`` and ``licenses`` from the project settings (``settings.dataset``): set by a
manager through the project API (validated, bounded), written into COCO exports."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.models import Project
from datasets.metadata import MAX_SETTINGS_BYTES, MetadataError, validate
from datasets.selection import ExportOptions, export_digest
from tests.factories import make_panorama

from .helpers import SQUARE, export, label, read_json

DATASET = {
    "info": {
        "description": "Street scenes, spring 2025",
        "version": "2.1",
        "contributor": "City survey team",
        "url": "https://example.org/streets",
        "year": 2025,
        "date_created": "2025-03-01",
    },
    "licenses": [
        {"id": 1, "name": "CC BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
        {"id": 7, "name": "internal", "url": ""},
    ],
    "image_license": 1,
}


@pytest.mark.django_db
def test_manager_sets_dataset_metadata_and_coco_exports_carry_it(
    project, users, client_for, tmp_path
):
    pano = make_panorama(project, seed=1, width=64)
    label(pano, [SQUARE])
    manager = client_for(users["manager"])
    current = manager.get(f"/api/projects/{project.pk}/").data["settings"]
    response = manager.patch(
        f"/api/projects/{project.pk}/", {"settings": {**current, "dataset": DATASET}}, format="json"
    )
    assert response.status_code == 200, response.data
    project.refresh_from_db()
    for fmt in ("coco", "coco_views"):
        data = read_json(
            export(project, tmp_path, format=fmt, face_size=16), "annotations/instances.json"
        )
        info = data["info"]
        for key, value in DATASET["info"].items():
            assert info[key] == value
        assert "projection" in info  # the exporter's own conventions stay
        assert data["licenses"] == DATASET["licenses"]
        assert {i["license"] for i in data["images"]} == {1}


@pytest.mark.django_db
def test_defaults_without_settings(project, tmp_path):
    make_panorama(project, seed=1, width=64)
    info = read_json(export(project, tmp_path, format="coco"), "annotations/instances.json")
    today = datetime.date.today()
    assert info["info"]["year"] in (today.year, today.year + 1)  # around midnight UTC
    assert info["info"]["version"] == "1.0" and project.name in info["info"]["description"]
    datetime.date.fromisoformat(info["info"]["date_created"])
    assert info["licenses"] == [] and "license" not in info["images"][0]


@pytest.mark.parametrize(
    "dataset, fragment",
    [
        ({"colour": 1}, "unknown keys"),
        ({"info": {"year": "2025"}}, "info.year"),
        ({"info": {"year": 20250}}, "info.year"),
        ({"info": {"url": "javascript:alert(1)"}}, "http"),
        ({"info": {"description": "x" * 2001}}, "info.description"),
        ({"info": {"date_created": "yesterday"}}, "ISO 8601"),
        ({"info": {"author": "me"}}, "info: unknown keys"),
        ({"licenses": [{"id": 1}, {"id": 1}]}, "appears twice"),
        ({"licenses": [{"id": 0}]}, "positive integer"),
        ({"licenses": [{"id": 1, "owner": "x"}]}, "licenses[0]"),
        ({"licenses": [{"id": k} for k in range(1, 40)]}, "at most 32"),
        ({"image_license": 3, "licenses": [{"id": 1}]}, "image_license"),
        (
            {"info": {"contributor": "y" * 500}, "licenses": [{"id": 1, "name": "n" * 500}] * 1},
            None,
        ),
        ("text", "must be an object"),
    ],
)
@pytest.mark.django_db
def test_bad_dataset_settings_are_a_clear_400(project, users, client_for, dataset, fragment):
    response = client_for(users["manager"]).patch(
        f"/api/projects/{project.pk}/", {"settings": {"dataset": dataset}}, format="json"
    )
    if fragment is None:
        assert response.status_code == 200, response.data
        return
    assert response.status_code == 400, response.data
    assert fragment in str(response.data["settings"]["dataset"])
    assert "dataset" not in (Project.objects.get(pk=project.pk).settings or {})


def test_settings_are_bounded_in_size():
    big = {"licenses": [{"id": k, "name": "n" * 500, "url": ""} for k in range(1, 33)]}
    with pytest.raises(MetadataError, match=f"at most {MAX_SETTINGS_BYTES}"):
        validate(big)


@pytest.mark.django_db
def test_settings_change_the_export_cache_key(project):
    options = ExportOptions.from_dict({"format": "coco"})
    before = export_digest(project, options)
    project.settings = {"dataset": {"info": {"version": "9"}}}
    project.save()
    assert export_digest(project, options) != before


@pytest.mark.django_db(transaction=True)
def test_invalid_stored_settings_refuse_the_export(project, users, client_for):
    """Settings written around the API (admin, shell) are checked when an export is asked."""
    Project.objects.filter(pk=project.pk).update(settings={"dataset": {"info": {"year": "x"}}})
    response = client_for(users["viewer"]).post(
        "/api/exports/", {"project": project.pk, "format": "coco"}, format="json"
    )
    assert response.status_code == 400 and "info.year" in response.data["options"]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {}, optional={"info": JSONISH, "licenses": JSONISH, "image_license": JSONISH}
        ),
        st.fixed_dictionaries(
            {
                "info": st.fixed_dictionaries(
                    {},
                    optional={
                        "year": JSONISH,
                        "url": JSONISH,
                        "date_created": JSONISH,
                        "version": JSONISH,
                    },
                ),
                "licenses": st.lists(
                    st.fixed_dictionaries({"id": JSONISH}, optional={"name": JSONISH}),
                    max_size=3,
                ),
            }
        ),
    )
)
def test_fuzz_dataset_settings(value):
    try:
        out = validate(value)
    except MetadataError:
        return
    assert set(out) == {"info", "licenses", "image_license"}
