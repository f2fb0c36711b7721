"""Wherever suggestions appear, their model's provenance can be shown: GET
/api/prelabel/provenance/ answers, per model version on the panorama, what the model was
trained on, its validation IoU per class and whether its scores are calibrated — for project
model versions and for the pretrained detectors."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from annotations.models import LabelClass
from inference.detectors.classes import Mapped
from inference.detectors.store import store_detections
from inference.models import ModelWeights
from inference.prelabel.merge import Suggestion
from inference.prelabel.store import remember_suggestion_model, store_suggestions
from tests.registry import onnx_graphs as g

SQUARE = [[[[10.0, -5.0], [20.0, -5.0], [20.0, 5.0], [10.0, 5.0]]]]
OTHER = [[[[40.0, -5.0], [50.0, -5.0], [50.0, 5.0], [40.0, 5.0]]]]


def _project_version(project) -> ModelWeights:
    weights = ModelWeights(
        name="project model",
        version="p1-j7",
        task="semantic_segmentation",
        project=project,
        input_size=64,
        class_names=["background", "car"],
        validation={
            "miou": 0.81,
            "iou": {"car": 0.9, "building": 0.72},
            "panoramas": 3,
            "calibration": {"fitted": True, "classes": {"car": {"precision": 0.88}}},
        },
        provenance={"trained_on": "12 approved panoramas of Streets", "panoramas": 12},
    )
    weights.file.save("m.onnx", ContentFile(g.semantic_like()), save=False)
    weights.save()
    return weights


@pytest.mark.django_db
def test_provenance_of_every_model_behind_the_panoramas_suggestions(
    project, panorama, users, client_for
):
    weights = _project_version(project)
    version = "project model vp1-j7"
    store_suggestions(panorama, [Suggestion("car", SQUARE, 0.8)], version)
    remember_suggestion_model(project, version, weights)
    LabelClass.objects.create(project=project, name="face", order=5)
    store_detections(panorama, [Mapped("face", "face", OTHER, 0.99)], "mtcnn-test")

    # viewers see suggestions too, so they see where they come from
    answer = client_for(users["viewer"]).get("/api/prelabel/provenance/", {"panorama": panorama.pk})
    assert answer.status_code == 200
    models = answer.json()["models"]
    assert set(models) == {version, "detector:mtcnn-test"}
    mine = models[version]
    assert mine["weights"] == weights.pk and mine["panoramas"] == 12
    assert mine["trained_on"] == "12 approved panoramas of Streets"
    assert mine["validation_iou"] == {"car": 0.9, "building": 0.72}
    assert mine["validation_panoramas"] == 3
    assert mine["calibrated"] is True and mine["class_precision"] == {"car": 0.88}
    detector = models["detector:mtcnn-test"]
    assert detector["calibrated"] is False and detector["validation_iou"] == {}
    assert "facenet-pytorch 2.6.0" in detector["trained_on"]
    assert "rapidocr_onnxruntime 1.4.4" in detector["trained_on"]
    assert "docs/detectors.md" in detector["measured"]


@pytest.mark.django_db
def test_provenance_is_private_to_the_project(panorama, users, client_for):
    outsider = client_for(users["outsider"])
    answer = outsider.get("/api/prelabel/provenance/", {"panorama": panorama.pk})
    assert answer.status_code == 404
    bad = client_for(users["viewer"]).get("/api/prelabel/provenance/", {"panorama": "x" * 5000})
    assert bad.status_code == 400


@pytest.mark.django_db
def test_provenance_query_fuzz(panorama, users, client_for):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    client = client_for(users["viewer"])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.text(max_size=300), st.integers(), st.floats(allow_nan=True)))
    def check(value):
        answer = client.get("/api/prelabel/provenance/", {"panorama": value})
        assert answer.status_code in (200, 400, 404)
        if answer.status_code == 200:
            assert answer.json()["panorama"] == panorama.pk

    check()
