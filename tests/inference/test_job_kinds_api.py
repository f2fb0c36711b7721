"""Job kinds for the browser's processing panel: their parameter forms as JSON, and jobs started
from a filled-in form on chosen panoramas or a whole project (as the admin action does)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inference.models import Job
from tests.factories import make_panorama

pytestmark = pytest.mark.django_db


def kinds(client) -> dict:
    return {k["name"]: k for k in client.get("/api/job-kinds/").json()}


def test_kinds_list_their_forms(users, project, client_for):
    listed = kinds(client_for(users["manager"]))
    assert "depth" in listed and "prelabel" in listed and "prelabel_train" in listed
    assert "diagnostic" not in listed and "thumbnail" not in listed  # no form / staff only
    depth = {f["name"]: f for f in listed["depth"]["fields"]}
    from inference.depth.job import DepthParamsForm

    expected = [[str(v), str(label)] for v, label in DepthParamsForm().fields["estimator"].choices]
    assert depth["estimator"]["type"] == "choice" and depth["estimator"]["choices"] == expected
    assert depth["max_width"] == {**depth["max_width"], "type": "int", "min": 64, "max": 16384}
    assert depth["max_width"]["initial"] == 4096
    assert listed["prelabel_train"]["targets"] == ["project"]
    from inference.registry import get_kind

    assert listed["depth"]["label"] == get_kind("depth").label


def test_run_on_selected_panoramas_and_on_the_project(users, project, client_for):
    a, b = make_panorama(project, seed=1), make_panorama(project, seed=2)
    client = client_for(users["manager"])
    estimator = kinds(client)["depth"]["fields"][0]["choices"][0][0]
    fields = {"estimator": estimator, "fusion": "average", "max_width": 512}
    response = client.post(
        "/api/job-kinds/depth/run/",
        {"project": project.pk, "panoramas": [a.pk], "fields": fields},
        format="json",
    )
    assert response.status_code == 201, response.content
    (job,) = response.json()["jobs"]
    stored = Job.objects.get(pk=job["id"])
    assert [p.pk for p in stored.panoramas.all()] == [a.pk]
    assert stored.params["max_width"] == 512 and stored.params["fusion"] == "average"
    # the whole project: one job per panorama for a per-panorama kind; a is already queued
    response = client.post(
        "/api/job-kinds/depth/run/", {"project": project.pk, "fields": fields}, format="json"
    )
    body = response.json()
    assert response.status_code == 201
    assert [j["panoramas"] for j in body["jobs"]] == [[b.pk]]
    assert [j["id"] for j in body["duplicates"]] == [job["id"]]


def test_run_refusals(users, project, client_for):
    pano = make_panorama(project, seed=3)
    manager = client_for(users["manager"])
    bad = manager.post(
        "/api/job-kinds/depth/run/",
        {"project": project.pk, "panoramas": [pano.pk], "fields": {"max_width": 5}},
        format="json",
    )
    assert bad.status_code == 400 and "max_width" in bad.json()["fields"]
    only_project = manager.post(
        "/api/job-kinds/prelabel_train/run/",
        {"project": project.pk, "panoramas": [pano.pk], "fields": {}},
        format="json",
    )
    assert only_project.status_code == 400
    other = make_panorama(make_project_named("Other"), seed=4)
    foreign = manager.post(
        "/api/job-kinds/depth/run/",
        {"project": project.pk, "panoramas": [other.pk], "fields": {"fusion": "average"}},
        format="json",
    )
    assert foreign.status_code == 400
    annotator = client_for(users["annotator"]).post(
        "/api/job-kinds/depth/run/", {"project": project.pk, "fields": {}}, format="json"
    )
    assert annotator.status_code == 403
    assert (
        manager.post("/api/job-kinds/diagnostic/run/", {"project": project.pk}).status_code == 404
    )
    # a misspelt "panoramas" is refused, not dropped (the kind would run on the whole project)
    misspelt = manager.post(
        "/api/job-kinds/depth/run/",
        {"project": project.pk, "panorama": [pano.pk], "fields": {}},
        format="json",
    )
    assert misspelt.status_code == 400 and "unknown field(s): panorama" in str(misspelt.json())
    assert not Job.objects.exists()


def make_project_named(name):
    from tests.factories import make_project

    return make_project(name)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["depth", "prelabel", "prelabel_train", "nope"]),
    panoramas=json_values,
    fields=json_values,
)
def test_run_body_fuzz(users, project, client_for, kind, panoramas, fields):
    response = client_for(users["manager"]).post(
        f"/api/job-kinds/{kind}/run/",
        {"project": project.pk, "panoramas": panoramas, "fields": fields},
        format="json",
    )
    assert response.status_code in (200, 201, 400, 404), response.content[:300]
