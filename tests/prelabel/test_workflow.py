"""The pre-labelling workflow never loses work: settings under a row lock, cancel inside the
merge, no writes by a cancelled or superseded attempt, a time budget, suggestions kept per
model version, model versions with activation/rollback, weights validated at submission."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.core.files.base import ContentFile

from annotations.models import Instance, Panorama, Project
from annotations.uploads import store_panorama
from inference.models import Job, ModelWeights
from inference.prelabel import jobs, merge
from inference.prelabel.merge import Suggestion, semantic_suggestions
from inference.prelabel.store import (
    class_mapping,
    project_model,
    save_class_mapping,
    set_project_model,
    store_suggestions,
)
from inference.prelabel.versions import Evaluation, decide
from inference.registry import JobContext, LeaseLost
from inference.runner import execute
from inference.services import submit_job
from tests.registry import onnx_graphs as g

from .helpers import png_bytes

SQUARE = [[[[10.0, -5.0], [20.0, -5.0], [20.0, 5.0], [10.0, 5.0]]]]
OTHER = [[[[40.0, -5.0], [50.0, -5.0], [50.0, 5.0], [40.0, 5.0]]]]


def _weights(name="red", task="instance_segmentation", names=("__background__", "red thing")):
    w = ModelWeights(name=name, task=task, input_size=64, class_names=list(names))
    data = g.maskrcnn_like(64) if task == "instance_segmentation" else g.semantic_like()
    w.file.save("m.onnx", ContentFile(data), save=False)
    w.save()
    return w


def _red_patches(project, count: int = 3) -> Panorama:
    rgb = np.full((256, 512, 3), 90, np.uint8)
    for k in range(count):  # separate red patches along the equator
        x = 40 + 150 * k
        rgb[112:128, x : x + 24] = (230, 20, 20)
    return store_panorama(project, f"red{count}.png", png_bytes(rgb))


# -- settings -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_setting_the_project_model_keeps_a_mapping_saved_meanwhile(project):
    weights = _weights()
    stale = Project.objects.get(pk=project.pk)  # what a long job read at its start
    save_class_mapping(Project.objects.get(pk=project.pk), weights, {"red thing": "car"})
    set_project_model(stale, _weights("semantic", "semantic_segmentation", ["background", "car"]))
    fresh = Project.objects.get(pk=project.pk)
    assert class_mapping(fresh, weights) == {"red thing": "car"}
    assert project_model(fresh).task == "semantic_segmentation"


@pytest.mark.django_db
def test_training_job_keeps_mappings_saved_while_it_trains(project, monkeypatch):
    from tests.prelabel.helpers import synthetic_panorama

    synthetic_panorama(project, 0, 256, status="approved")
    uploaded = _weights()
    from inference.prelabel import training  # the job imports it when it runs (torch)

    real = training.train_project_model

    def train_and_meanwhile_map(*args, **kwargs):
        save_class_mapping(Project.objects.get(pk=project.pk), uploaded, {"red thing": "car"})
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_project_model", train_and_meanwhile_map)
    job = submit_job(
        "prelabel_train",
        project=project,
        params={"iterations": 10, "views_per_panorama": 2, "view_size": 32,
                "predict_view_size": 64, "panorama_width": 256, "validations": 1},
    )  # fmt: skip
    assert execute(job.pk) == "succeeded", Job.objects.get(pk=job.pk).error
    fresh = Project.objects.get(pk=project.pk)
    assert class_mapping(fresh, uploaded) == {"red thing": "car"}
    assert project_model(fresh).project_id == project.pk


# -- cancel, stale attempts, time budget ----------------------------------------------------
@pytest.mark.django_db
def test_cancel_inside_the_merge_stops_it_and_writes_nothing(project, monkeypatch):
    pano = _red_patches(project)
    weights = _weights("sem", "semantic_segmentation", ["background", "car"])
    params = {"weights": weights.pk, "view_size": 64}
    # without a cancel the merge traces three regions
    assert execute(submit_job("prelabel", panoramas=[pano], params=params).pk) == "succeeded"
    assert Instance.objects.filter(panorama=pano).count() == 3
    Instance.objects.filter(panorama=pano).delete()
    pano.refresh_from_db()
    revision = pano.revision
    traced = []
    real = merge.mask_to_geometry

    def trace_then_cancel(*args, **kwargs):
        traced.append(1)
        Job.objects.filter(kind="prelabel").update(cancel_requested=True)
        return real(*args, **kwargs)

    monkeypatch.setattr(merge, "mask_to_geometry", trace_then_cancel)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY_S", 0.0)
    job = submit_job("prelabel", panoramas=[pano], params={**params, "min_score": 0.0})
    assert execute(job.pk) == "cancelled"
    assert len(traced) == 1, "the merge went on after the cancel"
    pano.refresh_from_db()
    assert pano.revision == revision and not Instance.objects.filter(panorama=pano).exists()


@pytest.mark.django_db
def test_cancel_between_merge_and_write_writes_nothing(project, monkeypatch):
    pano = _red_patches(project, 1)
    weights = _weights("sem", "semantic_segmentation", ["background", "car"])
    real = jobs.store_suggestions

    def cancel_then_store(*args, **kwargs):
        Job.objects.filter(kind="prelabel").update(cancel_requested=True)
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs, "store_suggestions", cancel_then_store)
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk, "view_size": 64})
    assert execute(job.pk) == "cancelled"
    assert not Instance.objects.filter(panorama=pano).exists()


@pytest.mark.django_db
def test_a_superseded_attempt_writes_no_suggestions(project):
    pano = _red_patches(project, 1)
    job = Job.objects.create(kind="prelabel", status="running", lease="new-attempt")
    stale = JobContext(job, lease="old-attempt")
    with pytest.raises(LeaseLost):
        store_suggestions(
            pano, [Suggestion("car", SQUARE, 0.9)], "m v1", jobs.live_attempt_guard(stale)
        )
    assert not Instance.objects.filter(panorama=pano).exists()
    live = JobContext(job, lease="new-attempt")
    store_suggestions(pano, [Suggestion("car", SQUARE, 0.9)], "m v1", jobs.live_attempt_guard(live))
    assert Instance.objects.filter(panorama=pano, is_suggestion=True).count() == 1


def test_time_budget_keeps_the_largest_regions_and_says_so():
    probs = np.zeros((128, 256, 2), np.float32)
    probs[..., 0] = 1.0
    for k, side in enumerate((30, 12, 6)):
        probs[40 : 40 + side, 20 + 70 * k : 20 + 70 * k + side] = (0.0, 1.0)
    seen = np.ones((128, 256))
    report: dict = {}
    out = semantic_suggestions(probs, seen, ["bg", "car"], report=report)
    assert len(out) == 3 and report == {"regions": 3, "traced": 3, "truncated": False}
    ticks = []
    semantic_suggestions(probs, seen, ["bg", "car"], progress=ticks.append)
    assert ticks == pytest.approx([1 / 3, 2 / 3, 1.0])
    out = semantic_suggestions(
        probs, seen, ["bg", "car"], deadline=time.monotonic() - 1, report=report
    )
    assert out == [] and report["truncated"] and report["traced"] == 0


# -- suggestions per model version ----------------------------------------------------------
@pytest.mark.django_db
def test_suggestions_are_kept_per_model_version(project):
    pano = _red_patches(project, 1)
    store_suggestions(pano, [Suggestion("car", SQUARE, 0.9)], "model A v1")
    store_suggestions(pano, [Suggestion("car", OTHER, 0.8)], "model B v1")
    versions = sorted(
        Instance.objects.filter(panorama=pano).values_list("model_version", flat=True)
    )
    assert versions == ["model A v1", "model B v1"]
    result = store_suggestions(pano, [Suggestion("car", OTHER, 0.7)], "model A v1")
    assert result["replaced"] == 1
    rows = {i.model_version: i.score for i in Instance.objects.filter(panorama=pano)}
    assert rows == {"model A v1": 0.7, "model B v1": 0.8}


# -- versions -------------------------------------------------------------------------------
def test_a_new_version_is_activated_only_if_not_worse():
    old = Evaluation(0.60, {"car": 0.6}, panoramas=2)
    assert decide(Evaluation(0.60, {}, panoramas=2), old, "if_not_worse")[0]
    worse, why = decide(Evaluation(0.50, {}, panoramas=2), old, "if_not_worse")
    assert not worse and "worse than the active version's 0.600" in why
    assert decide(Evaluation(0.50, {}, panoramas=2), old, "always")[0]
    assert not decide(Evaluation(0.90, {}, panoramas=2), old, "never")[0]
    assert decide(Evaluation(0.10, {}, panoramas=2), None, "if_not_worse")[0]


@pytest.mark.django_db
def test_versions_worse_model_stays_inactive_manager_activates_and_rolls_back(
    project, users, client_for, monkeypatch
):
    from tests.prelabel.helpers import synthetic_panorama

    synthetic_panorama(project, 0, 256, status="approved")
    params = {"iterations": 10, "views_per_panorama": 2, "view_size": 32,
              "predict_view_size": 64, "panorama_width": 256, "validations": 1}  # fmt: skip
    first = submit_job("prelabel_train", project=project, params=params)
    assert execute(first.pk) == "succeeded", Job.objects.get(pk=first.pk).error
    v1 = project_model(Project.objects.get(pk=project.pk))
    # the second run scores worse on the same validation panoramas than the active one
    scores = iter([Evaluation(0.2, {"car": 0.2}, panoramas=1), Evaluation(0.7, {}, panoramas=1)])
    from inference.prelabel import versions  # the job imports it when it runs (torch)

    monkeypatch.setattr(versions, "evaluate", lambda *a, **k: next(scores))
    second = submit_job("prelabel_train", project=project, params={**params, "seed": 1})
    assert execute(second.pk) == "succeeded", Job.objects.get(pk=second.pk).error
    second.refresh_from_db()
    assert second.result["activated"] is False and "worse" in second.result["activation"]
    assert second.result["compared_with"]["weights"] == v1.pk
    assert project_model(Project.objects.get(pk=project.pk)) == v1

    manager = client_for(users["manager"])
    listing = manager.get("/api/prelabel/models/", {"project": project.pk}).json()
    assert listing["active"] == v1.pk and len(listing["versions"]) == 2
    v2 = next(v for v in listing["versions"] if v["id"] != v1.pk)
    assert v2["validation"]["miou"] == 0.2 and not v2["active"]
    assert v2["provenance"]["panoramas"] == 1 and "approved" in v2["provenance"]["trained_on"]
    annotator = client_for(users["annotator"])
    denied = annotator.post(
        "/api/prelabel/models/activate/", {"project": project.pk, "weights": v2["id"]}
    )
    assert denied.status_code == 403
    ok = manager.post(
        "/api/prelabel/models/activate/", {"project": project.pk, "weights": v2["id"]}
    )
    assert (
        ok.status_code == 200 and project_model(Project.objects.get(pk=project.pk)).pk == v2["id"]
    )
    back = manager.post("/api/prelabel/models/rollback/", {"project": project.pk})
    assert back.status_code == 200 and back.json()["active"] == v1.pk
    history = manager.get("/api/prelabel/models/", {"project": project.pk}).json()["history"]
    assert [h["weights"] for h in history] == [v1.pk, v2["id"], v1.pk]


# -- submission -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_prelabel_with_unknown_weights_is_refused_at_submission(panorama, users, client_for):
    client = client_for(users["annotator"])
    answer = client.post(
        "/api/prelabel/run/", {"panoramas": [panorama.pk], "weights": 987654}, format="json"
    )
    assert answer.status_code == 400 and "987654" in str(answer.json())
    assert not Job.objects.exists()
