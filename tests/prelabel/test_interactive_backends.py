"""The interactive box tool's backends: a SAM-style ONNX pair (embedding once per view in a
worker job, decoder per click, GrabCut while the embedding is not ready), the project-model
prior only for classes it is good at, and boxes that cannot be segmented."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import LabelClass
from annotations.uploads import store_panorama
from inference.models import Job, ModelWeights
from inference.prelabel import prompt
from inference.prelabel.interactive import prior_allowed
from inference.prelabel.prompt import validate_embedding_params
from inference.registry import ParamsError
from inference.runner import execute
from label360.sphere import View, geometry_to_view
from tests.registry import onnx_graphs as g

from .helpers import png_bytes

S = 64
VIEW = {"yaw": 45.0, "pitch": 0.0, "roll": 0.0, "hfov": 60.0, "width": 256, "height": 192}


def _pano(project, users):
    rgb = np.full((256, 512, 3), 90, np.uint8)
    rgb[104:136, 304:352] = (230, 20, 20)  # lon 33.75..67.5, lat -5.6..5.6
    pano = store_panorama(project, "red.png", png_bytes(rgb))
    pano.assignees.add(users["annotator"])
    return pano


def _sam():
    w = ModelWeights(
        name="tiny-sam", task="interactive_segmentation", input_size=S,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225],
    )  # fmt: skip
    w.file.save("encoder.onnx", ContentFile(g.sam_encoder_like(S)), save=False)
    w.decoder.save("decoder.onnx", ContentFile(g.sam_decoder_like(S)), save=False)
    w.save()
    return w


def _truth_box():
    truth = [[[[33.75, -5.625], [67.5, -5.625], [67.5, 5.625], [33.75, 5.625]]]]
    pts = np.concatenate([r for p in geometry_to_view(truth, View(**VIEW)) for r in p])
    pad = 10
    return truth, [float(pts[:, 0].min() - pad), float(pts[:, 1].min() - pad),
                   float(pts[:, 0].max() + pad), float(pts[:, 1].max() + pad)]  # fmt: skip


@pytest.mark.django_db
def test_prompt_model_embeds_once_per_view_and_decodes_per_click(
    project, users, client_for, monkeypatch
):
    from label360.sphere import iou

    pano = _pano(project, users)
    sam = _sam()
    truth, box = _truth_box()
    client = client_for(users["annotator"])
    body = {"panorama": pano.pk, "view": VIEW, "box": box}
    monkeypatch.setattr(prompt, "EMBED_WAIT_S", 0.0)  # no worker in this test
    first = client.post("/api/prelabel/interactive/", body, format="json").json()
    assert first["backend"] == "grabcut" and first["timings"]["prompt_embedding"] == "pending"
    job = Job.objects.get(kind="interactive_embedding")
    assert job.params["weights"] == sam.pk and list(job.panoramas.all()) == [pano]
    assert execute(job.pk) == "succeeded", Job.objects.get(pk=job.pk).error
    second = client.post("/api/prelabel/interactive/", body, format="json").json()
    assert second["backend"] == "prompt_model", second
    assert second["timings"]["embedding"] == "stored"
    assert iou(second["geometry"], truth) > 0.6
    third = client.post(
        "/api/prelabel/interactive/", {**body, "positive": [[128, 96]]}, format="json"
    ).json()
    assert third["backend"] == "prompt_model" and third["timings"]["embedding"] == "cached"
    assert Job.objects.filter(kind="interactive_embedding").count() == 1
    # another view needs its own embedding
    moved = client.post(
        "/api/prelabel/interactive/", {**body, "view": {**VIEW, "yaw": 46.0}}, format="json"
    ).json()
    assert moved["backend"] == "grabcut"
    assert Job.objects.filter(kind="interactive_embedding").count() == 2


@pytest.mark.django_db
def test_whole_view_box_returns_nothing_with_a_reason(project, users, client_for):
    pano = _pano(project, users)
    body = {"panorama": pano.pk, "view": VIEW, "box": [0, 0, 256, 192]}
    answer = client_for(users["annotator"]).post("/api/prelabel/interactive/", body, format="json")
    assert answer.status_code == 200
    data = answer.json()
    assert data["geometry"] == [] and "whole view" in data["reason"]


@pytest.mark.django_db
def test_prior_only_for_classes_with_high_validation_iou(project):
    weights = ModelWeights(
        name="pm", task="semantic_segmentation", input_size=64,
        class_names=["background", "car", "pole"], project=project,
        validation={"iou": {"car": 0.93, "pole": 0.43}},
    )  # fmt: skip
    assert prior_allowed(weights, "car")[0]
    ok, why = prior_allowed(weights, "pole")
    assert not ok and "0.43" in why
    assert not prior_allowed(weights, "tree")[0]
    assert not prior_allowed(None, "car")[0]


@pytest.mark.django_db
def test_low_iou_class_gets_plain_grabcut_through_the_endpoint(project, users, client_for):
    from inference.prelabel.store import set_project_model

    pano = _pano(project, users)
    weights = ModelWeights(
        name="pm", task="semantic_segmentation", input_size=64,
        class_names=["background", "car"], project=project,
        validation={"iou": {"car": 0.5}},
    )  # fmt: skip
    weights.file.save("pm.onnx", ContentFile(g.semantic_like()), save=False)
    weights.save()
    set_project_model(project, weights)
    car = LabelClass.objects.get_or_create(project=project, name="car")[0]
    _, box = _truth_box()
    body = {"panorama": pano.pk, "view": VIEW, "box": box, "label_class": car.pk}
    data = client_for(users["annotator"]).post("/api/prelabel/interactive/", body, format="json")
    data = data.json()
    assert data["backend"] == "grabcut" and data["timings"]["refined_by_model"] is False
    assert "not trusted" in data["timings"]["prior"]
    weights.validation = {"iou": {"car": 0.95}}
    weights.save(update_fields=["validation"])
    data = client_for(users["annotator"]).post("/api/prelabel/interactive/", body, format="json")
    assert data.json()["timings"]["prior"] == "validation IoU 0.95"


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(["weights", "view", "key", "extra"]),
        st.one_of(
            st.none(), st.integers(-5, 10**12), st.floats(allow_nan=True), st.text(max_size=80),
            st.dictionaries(
                st.sampled_from(["yaw", "pitch", "roll", "hfov", "width", "height"]),
                st.one_of(st.integers(-10**9, 10**9), st.floats(allow_nan=True), st.text(max_size=5)),
            ),
        ),
    )
)  # fmt: skip
def test_embedding_job_params_fuzz(project, params):
    try:
        clean = validate_embedding_params(params)
    except ParamsError:
        return
    view = clean["view"]
    assert 0 < view["hfov"] < 180 and 0 < view["width"] * view["height"] <= 4096 * 4096
