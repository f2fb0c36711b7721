"""Depth from uploaded models: every registry output choice is an estimator kind and recovers
the scene end to end (ONNX upload → depth job → stored depth); the geometric prior is named a
prior and is not what runs once a model is registered."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.uploads import store_panorama
from inference.depth.estimators import PREDICTION_KINDS
from inference.depth.job import DepthParamsForm, validate_depth_params
from inference.models import DepthOutput, DerivedAsset, Job, ModelWeights
from inference.registry import ParamsError
from inference.runner import execute
from inference.services import submit_job
from tests.prelabel.helpers import png_bytes

from . import onnx_graphs as g

SIZE = 64  # view size = model input size (no resampling between the two)
FOV = 100.0  # cube faces
K = 375.0  # grey = K / distance
HALF = np.array([3.0, 1.5, 3.0])  # a box room around the camera (x, y, z half extents)


def room_distance(width: int) -> np.ndarray:
    """True distance along each equirect pixel's ray inside the box room."""
    h = width // 2
    lon = np.radians((np.arange(width) + 0.5) / width * 360 - 180)
    lat = np.radians(90 - (np.arange(h) + 0.5) / h * 180)
    lon, lat = np.meshgrid(lon, lat)
    u = np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], -1)
    with np.errstate(divide="ignore"):
        t = HALF / np.abs(u)
    return t.min(axis=-1)


def room_panorama(project, width: int = 256):
    truth = room_distance(width)
    grey = np.clip(np.round(K / truth), 0, 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    return store_panorama(project, "room.png", png_bytes(rgb)), K / grey.astype(np.float64)


def upload_depth(client, kind: str):
    res = client.post(
        "/api/models/",
        {
            "name": f"depth-{kind}",
            "task": "depth",
            "input_size": SIZE,
            "output": kind,
            "file": SimpleUploadedFile("depth.onnx", g.depth_like(SIZE, kind, K, FOV)),
        },
        format="multipart",
    )
    assert res.status_code == 201, res.content
    return ModelWeights.objects.get(pk=res.json()["id"])


def test_registry_choices_are_the_estimator_kinds():
    assert set(DepthOutput.values) == set(PREDICTION_KINDS)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", DepthOutput.values)
def test_uploaded_onnx_depth_model_end_to_end(users, project, client_for, kind):
    pano, truth = room_panorama(project)
    weights = upload_depth(client_for(users["admin"]), kind)
    assert weights.format == "onnx" and weights.output == kind
    params = {"layout": "cube", "fov": FOV, "view_size": SIZE, "max_width": 256}
    job = submit_job("depth", users["manager"], project, [pano], params)
    assert job.params["estimator"] == "model" and job.params["weights"] == weights.pk
    assert execute(job.pk) == "succeeded", Job.objects.get(pk=job.pk).error
    job.refresh_from_db()
    assert job.result["source"] == "model" and job.result["measurement"] is True
    asset = DerivedAsset.objects.get(panorama=pano, kind="depth")
    assert asset.params["source"] == "model" and asset.params["prediction_kind"] == kind
    depth = np.load(asset.file.open("rb")).astype(np.float64)
    scale = np.median(truth / depth)  # models know depth up to one global scale
    rel = np.abs(scale * depth - truth) / truth
    assert np.median(rel) < 0.02 and rel.mean() < 0.05, (np.median(rel), rel.mean())


@pytest.mark.django_db
def test_prior_is_named_a_prior_and_not_used_once_a_model_exists(users, project, client_for):
    pano, _ = room_panorama(project, 128)
    job = submit_job("depth", users["manager"], project, [pano], {"view_size": 48})
    assert job.params["estimator"] == "prior"
    assert execute(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.result["source"] == "prior" and job.result["measurement"] is False
    assert "not a measurement" in job.result["note"]
    asset = DerivedAsset.objects.get(panorama=pano, kind="depth")
    assert asset.params["source"] == "prior" and "not measured" in asset.params["units"]
    form = DepthParamsForm()
    assert [c[0] for c in form.fields["estimator"].choices] == ["prior"]
    assert "weights" not in form.fields

    weights = upload_depth(client_for(users["admin"]), "inverse")
    assert validate_depth_params({})["estimator"] == "model"
    assert validate_depth_params({})["weights"] == weights.pk
    form = DepthParamsForm()
    assert [c[0] for c in form.fields["estimator"].choices] == ["model"]
    assert form.fields["weights"].required


@pytest.mark.django_db
def test_depth_weights_are_validated_at_submission(users, project, panorama, client_for):
    with pytest.raises(ParamsError, match="none is registered"):
        validate_depth_params({"estimator": "model"})
    other = ModelWeights(name="seg", task="semantic_segmentation", input_size=64,
                         class_names=["background", "red"])  # fmt: skip
    other.file.save("seg.onnx", ContentFile(g.semantic_like()), save=False)
    other.save()
    answer = client_for(users["manager"]).post(
        "/api/jobs/",
        {"kind": "depth", "panoramas": [panorama.pk], "params": {"weights": other.pk}},
        format="json",
    )
    assert answer.status_code == 400 and "not depth" in str(answer.json())
    assert not Job.objects.exists()
