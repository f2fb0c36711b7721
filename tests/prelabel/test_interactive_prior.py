"""The interactive box tool is refined by the project model once the project has one.

Real pieces only: the project model is trained by the real ``prelabel_train`` job on stored
synthetic panoramas, and the box request goes through the real endpoint.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotations.models import LabelClass
from inference.prelabel import (
    interactive,
    jobs,  # noqa: F401  (registers the job kinds)
)
from inference.runner import execute
from inference.services import submit_job
from label360.sphere import View, centroid, geometry_to_view, iou

from .helpers import synthetic_panorama


def _person_request(r, pano_pk: int, person_pk: int) -> tuple[dict, list]:
    """A box request on the smallest unoccluded person of a street (plain GrabCut's hard case:
    a dark, blocky figure in front of similarly grey walls and pavement)."""
    people = [
        a
        for a in r.annotations
        if a["class"] == "person" and a["geometry"] and not a["occluded"] and a["area_sr"] > 3e-4
    ]
    target = min(people, key=lambda a: a["area_sr"])
    lon, lat = centroid(target["geometry"])
    hfov = min(120.0, max(10.0, 2.5 * math.degrees(2 * math.sqrt(target["area_sr"]))))
    view = {"yaw": lon, "pitch": lat, "roll": 0.0, "hfov": hfov, "width": 512, "height": 512}
    pts = np.concatenate(
        [ring for part in geometry_to_view(target["geometry"], View(**view)) for ring in part]
    )
    box = [float(pts[:, 0].min()), float(pts[:, 1].min())]
    box += [float(pts[:, 0].max()), float(pts[:, 1].max())]
    body = {"panorama": pano_pk, "view": view, "box": box, "label_class": person_pk}
    return body, target["geometry"]


@pytest.mark.django_db
def test_grabcut_is_refined_by_the_project_model_when_one_exists(
    project, users, client_for, monkeypatch
):
    # a project that labels people: four approved streets are its training data
    for seed in range(4):
        synthetic_panorama(project, seed, 1024, status="approved")
    LabelClass.objects.filter(project=project).exclude(name="person").delete()
    person = LabelClass.objects.get(project=project, name="person")
    pano, r, _ = synthetic_panorama(project, 6, 1024, labelled=False)
    pano.assignees.add(users["annotator"])
    body, truth = _person_request(r, pano.pk, person.pk)
    client = client_for(users["annotator"])

    # no project model yet: plain GrabCut, which bleeds into the similar background
    plain = client.post("/api/prelabel/interactive/", body, format="json").json()
    assert plain["timings"]["refined_by_model"] is False
    plain_iou = iou(plain["geometry"], truth) if plain["geometry"] else 0.0
    assert plain_iou < 0.75, plain_iou  # the case is hard for colour models alone

    job = submit_job(
        "prelabel_train",
        project=project,
        params={
            "iterations": 300,
            "views_per_panorama": 32,
            "view_size": 64,
            "predict_view_size": 128,
            "focus_fraction": 0.8,
            "panorama_width": 1024,
            "validations": 1,
        },
    )
    assert execute(job.pk) == "succeeded", job.error
    job.refresh_from_db()

    # the prior is used only when the class's validation IoU reaches the threshold
    person_iou = job.result["val_iou"]["person"]
    gated = client.post("/api/prelabel/interactive/", body, format="json").json()
    assert gated["timings"]["refined_by_model"] is (person_iou >= interactive.PRIOR_MIN_IOU)
    # (the stored validation score is rounded to two decimals: stay below it)
    threshold = min(person_iou, interactive.PRIOR_MIN_IOU) - 0.01
    monkeypatch.setattr(interactive, "PRIOR_MIN_IOU", threshold)
    refined = client.post("/api/prelabel/interactive/", body, format="json").json()
    assert refined["timings"]["refined_by_model"] is True, refined["timings"]["prior"]
    assert refined["timings"]["model_ms"] > 0
    refined_iou = iou(refined["geometry"], truth)
    assert refined_iou >= 0.85, (plain_iou, refined_iou)
    assert refined_iou >= plain_iou + 0.1, (plain_iou, refined_iou)

    # a class the model was not trained on gives no prior: plain GrabCut again
    other = LabelClass.objects.create(project=project, name="bicycle", order=9)
    unknown = client.post(
        "/api/prelabel/interactive/", {**body, "label_class": other.pk}, format="json"
    ).json()
    assert unknown["timings"]["refined_by_model"] is False
    assert unknown["geometry"] == plain["geometry"]
