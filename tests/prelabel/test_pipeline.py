"""Project model end to end through the real job runner, suggestions API, interactive API."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotations.models import Instance, LabelClass
from inference.models import ModelWeights
from inference.prelabel import jobs  # noqa: F401  (registers the job kinds)
from inference.prelabel.merge import Suggestion
from inference.prelabel.metrics import Scores, score_panorama
from inference.prelabel.store import project_model, store_suggestions
from inference.runner import execute
from inference.services import submit_job
from label360.sphere import centroid, geometry_to_view, iou

from .helpers import synthetic_panorama


@pytest.mark.django_db
def test_train_then_prelabel_short_version(project):
    """SHORT version of bench/prelabel.py: small model, looser bound (see docs/prelabel.md)."""
    for seed in range(2):
        synthetic_panorama(project, seed, 512, status="approved")
    pano, _, truth = synthetic_panorama(project, 500, 512, labelled=False)
    car = LabelClass.objects.get(project=project, name="car")
    human = Instance.objects.create(
        panorama=pano, label_class=car, geometry=truth[0][1], source="manual"
    )
    job = submit_job(
        "prelabel_train",
        project=project,
        params={
            "iterations": 120,
            "views_per_panorama": 16,
            "view_size": 96,  # the job defaults (128 px, 2500 iterations) take minutes
            "predict_view_size": 160,
            "panorama_width": 512,
            "validations": 1,
        },
    )
    assert execute(job.pk) == "succeeded", job.error
    job.refresh_from_db()
    assert job.result["val_miou"] is not None and job.result["history"]
    project.refresh_from_db()
    weights = project_model(project)
    assert isinstance(weights, ModelWeights) and weights.task == "semantic_segmentation"
    assert job.result["activated"] and weights.project_id == project.pk
    assert set(weights.validation["iou"]) <= set(weights.class_names)
    assert weights.provenance["panoramas"] == 2 and weights.provenance["job"] == job.pk

    # default: classes whose calibrated validation precision is too low are not suggested
    gated = submit_job("prelabel", panoramas=[pano], params={"grid_width": 512})
    assert execute(gated.pk) == "succeeded", gated.error
    gated.refresh_from_db()
    precision = {k: v["precision"] for k, v in weights.validation["calibration"]["classes"].items()}
    shown = {s.label_class.name for s in Instance.objects.filter(panorama=pano, is_suggestion=True)}
    assert all(precision.get(name, 0) >= 0.5 for name in shown), (shown, precision)
    dropped = gated.result["panoramas"][0]["low_precision_classes"]
    assert all(precision.get(name, 0) < 0.5 for name in dropped), (dropped, precision)

    # every class (a 120-iteration model is weak: the bound is the old short-test one)
    run = submit_job(
        "prelabel", panoramas=[pano], params={"grid_width": 512, "min_class_precision": 0}
    )
    assert execute(run.pk) == "succeeded", run.error
    suggestions = list(Instance.objects.filter(panorama=pano, is_suggestion=True))
    assert suggestions and all(s.source == "model" and s.model_version for s in suggestions)
    scores = Scores()
    score_panorama(scores, truth, [(s.label_class.name, s.geometry) for s in suggestions], 512)
    assert scores.iou()["building"] > 0.5, scores.iou()
    assert scores.mean_iou() > 0.2, scores.iou()

    # re-running replaces the unaccepted suggestions, never human work
    first_ids = {s.pk for s in suggestions}
    run2 = submit_job(
        "prelabel",
        panoramas=[pano],
        params={"grid_width": 512, "min_score": 0.1, "min_class_precision": 0},
    )
    assert execute(run2.pk) == "succeeded", run2.error
    again = set(
        Instance.objects.filter(panorama=pano, is_suggestion=True).values_list("pk", flat=True)
    )
    assert again and not (again & first_ids)
    assert Instance.objects.filter(pk=human.pk, is_suggestion=False).exists()


def _square(lon, half=5.0):
    return [[[lon - half, -half], [lon + half, -half], [lon + half, half], [lon - half, half]]]


@pytest.mark.django_db
def test_accept_reject_and_accept_all_are_revision_checked(project, panorama, users, client_for):
    store_suggestions(
        panorama,
        [
            Suggestion("car", [_square(lon)], score)
            for lon, score in ((0, 0.9), (30, 0.6), (60, 0.3))
        ],
        "test v1",
    )
    client = client_for(users["annotator"])  # assigned to this panorama
    listing = client.get(f"/api/prelabel/suggestions/?panorama={panorama.pk}").json()
    ids = [s["id"] for s in listing["suggestions"]]
    revision = listing["revision"]
    assert [s["score"] for s in listing["suggestions"]] == [0.9, 0.6, 0.3]

    stale = client.post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": panorama.pk, "revision": revision - 1, "ids": ids[:1]},
        format="json",
    )
    assert stale.status_code == 409 and stale.json()["current_revision"] == revision
    ok = client.post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": panorama.pk, "revision": revision, "ids": ids[:1]},
        format="json",
    ).json()
    assert ok["accepted"] == ids[:1] and ok["revision"] == revision + 1
    assert not Instance.objects.get(pk=ids[0]).is_suggestion

    rejected = client.post(
        "/api/prelabel/suggestions/reject/",
        {"panorama": panorama.pk, "revision": ok["revision"], "ids": [ids[2], ids[0]]},
        format="json",
    ).json()
    assert rejected["rejected"] == [ids[2]]  # an accepted instance is not a suggestion any more
    assert Instance.objects.filter(pk=ids[0]).exists()

    store_suggestions(panorama, [Suggestion("car", [_square(90)], 0.8)], "test v2")
    panorama.refresh_from_db()
    all_above = client.post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": panorama.pk, "revision": panorama.revision, "min_score": 0.7},
        format="json",
    ).json()
    assert len(all_above["accepted"]) == 1
    assert Instance.objects.filter(panorama=panorama, is_suggestion=False).count() == 2
    viewer = client_for(users["viewer"]).post(
        "/api/prelabel/suggestions/accept/",
        {"panorama": panorama.pk, "revision": all_above["revision"], "min_score": 0},
        format="json",
    )
    assert viewer.status_code == 403


@pytest.mark.django_db
def test_interactive_box_returns_a_spherical_polygon(project, users, client_for):
    pano, r, _ = synthetic_panorama(project, 7, 1024, labelled=False)
    pano.assignees.add(users["annotator"])
    target = next(
        a
        for a in r.annotations
        if a["class"] == "car" and not a["occluded"] and a["area_sr"] > 3e-4
    )
    lon, lat = centroid(target["geometry"])
    hfov = min(100.0, max(20.0, 2.5 * math.degrees(2 * math.sqrt(target["area_sr"]))))
    view = {"yaw": lon, "pitch": lat, "roll": 0.0, "hfov": hfov, "width": 512, "height": 512}
    from label360.sphere import View

    pts = np.concatenate(
        [ring for part in geometry_to_view(target["geometry"], View(**view)) for ring in part]
    )
    box = [
        float(pts[:, 0].min()),
        float(pts[:, 1].min()),
        float(pts[:, 0].max()),
        float(pts[:, 1].max()),
    ]
    body = {"panorama": pano.pk, "view": view, "box": box, "positive": [], "negative": []}
    answer = client_for(users["annotator"]).post("/api/prelabel/interactive/", body, format="json")
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert iou(data["geometry"], target["geometry"]) >= 0.8
    assert 0.0 <= data["score"] <= 1.0 and data["timings"]["total_ms"] > 0
    assert (
        client_for(users["viewer"])
        .post("/api/prelabel/interactive/", body, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(users["outsider"])
        .post("/api/prelabel/interactive/", body, format="json")
        .status_code
        == 404
    )


@pytest.mark.django_db
def test_prelabel_kinds_are_submittable_through_the_jobs_api(project, panorama, users, client_for):
    manager = client_for(users["manager"])
    answer = manager.post(
        "/api/jobs/", {"kind": "prelabel", "panoramas": [panorama.pk]}, format="json"
    )
    assert answer.status_code in (200, 201, 202), answer.content
    run = manager.post("/api/prelabel/train/", {"project": project.pk}, format="json")
    assert run.status_code == 202 and run.json()["kind"] == "prelabel_train"
    bad = manager.post("/api/prelabel/run/", {"project": project.pk, "min_score": 7}, format="json")
    assert bad.status_code == 400
    assert (
        client_for(users["annotator"])
        .post("/api/prelabel/train/", {"project": project.pk}, format="json")
        .status_code
        == 403
    )
