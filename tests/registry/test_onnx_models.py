"""ONNX in the model registry: upload through the API, contracts per task, precise refusals,
and uploaded ONNX instance models (Mask R-CNN and YOLO-seg layouts) pre-labelling panoramas."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.models import Instance
from inference.model_contracts import ContractError, check_model
from inference.model_formats import ModelFileError, load_torchscript
from inference.models import ModelWeights
from inference.prelabel import jobs  # noqa: F401  (registers the job kinds)
from inference.prelabel.store import save_class_mapping
from inference.runner import execute
from inference.services import submit_job
from label360.sphere import iou
from tests.prelabel.test_uploaded_model import _red_panorama

from . import onnx_graphs as g

S = 64
COCO_LIKE = ["__background__", "red thing"]


def upload(client, data: bytes, **fields):
    body = {"name": "net", "task": "instance_segmentation", "input_size": S, **fields}
    for key in ("class_names", "mean", "std"):
        if key in body:
            body[key] = __import__("json").dumps(body[key])
    body["file"] = SimpleUploadedFile("model.onnx", data)
    if "decoder" in fields:
        body["decoder"] = SimpleUploadedFile("decoder.onnx", fields["decoder"])
    return client.post("/api/models/", body, format="multipart")


def _weights(data: bytes, task="instance_segmentation", names=COCO_LIKE, **fields) -> ModelWeights:
    fields.setdefault("input_size", S)
    w = ModelWeights(name="onnx", task=task, class_names=list(names), **fields)
    w.file.save("model.onnx", ContentFile(data), save=False)
    w.save()
    return w


# -- upload ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_upload_onnx_maskrcnn_records_format_and_layout(users, client_for):
    res = upload(client_for(users["admin"]), g.maskrcnn_like(S), class_names=COCO_LIKE)
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["format"] == "onnx"
    assert body["contract"]["layout"] == "detections"
    assert body["contract"]["inputs"] == [f"image (3, {S}, {S}) float"]


@pytest.mark.django_db
def test_upload_refusals_say_precisely_what_is_wrong(users, client_for):
    admin = client_for(users["admin"])

    def error(data, **fields) -> str:
        res = upload(admin, data, **fields)
        assert res.status_code == 400, res.content
        return " ".join(str(v) for v in res.json().values())

    text = error(g.with_custom_op("torchvision", "nms"), class_names=COCO_LIKE)
    assert "torchvision::nms" in text and "NonMaxSuppression" in text
    assert "neither TorchScript" in error(b"\x00\x01garbage", class_names=COCO_LIKE)
    assert "not an ONNX model" in error(b"\x08\xff\xff\xff\xff", class_names=COCO_LIKE)
    # a fixed 64 px input uploaded with input_size 96
    text = error(g.maskrcnn_like(S), class_names=COCO_LIKE, input_size=96)
    assert "fixed at 64×64" in text and "set input_size to 64" in text
    # YOLO-seg candidates carry 3 class scores: 2 class names do not fit
    text = error(g.yolo_seg_like(S, classes=3), class_names=["a", "b"])
    assert "do not fit 2 class_names" in text
    # labels index class_names: the Mask R-CNN-like model answers label 1 → needs 2 names
    text = error(g.maskrcnn_like(S), class_names=["only"])
    assert "labels must index the 1 class_names" in text
    # a depth network uploaded as an instance model
    text = error(g.depth_like(S), class_names=COCO_LIKE)
    assert "match neither layout" in text and "depth (1, 64, 64)" in text
    # SAM needs its decoder, and the decoder the official inputs
    text = error(g.sam_encoder_like(S), task="interactive_segmentation")
    assert "prompt decoder" in text
    text = error(g.sam_encoder_like(S), task="interactive_segmentation", decoder=g.depth_like(S))
    assert "lacks input(s) image_embeddings" in text
    assert ModelWeights.objects.count() == 0


@pytest.mark.django_db
def test_oversized_file_is_refused_before_it_is_read(users, client_for, settings):
    settings.LABEL360_MAX_WEIGHTS_BYTES = 1000
    res = upload(client_for(users["admin"]), g.maskrcnn_like(S), class_names=COCO_LIKE)
    assert res.status_code == 400 and "at most 1000" in str(res.json())


def test_torchscript_with_torchvision_ops_names_them():
    lib = torch.library.Library("torchvision", "FRAGMENT")
    defined = True
    try:
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("roi_align(Tensor input, Tensor rois, float scale) -> Tensor")
        lib.impl("nms", lambda d, s, t: torch.arange(d.shape[0]), "CPU")
        lib.impl("roi_align", lambda i, r, s: i, "CPU")
    except RuntimeError:  # torchvision ops already exist in this process (never here)
        defined = False

    class Detector(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            keep = torch.ops.torchvision.nms(x[0, 0], x[0, 0, :, 0], 0.5)
            return torch.ops.torchvision.roi_align(x, x[0, 0], 1.0)[keep]

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Detector()), buffer)
    lib._destroy()
    if not defined:
        pytest.skip("torchvision operators are registered in this process")
    with pytest.raises(ModelFileError) as info:
        load_torchscript(buffer.getvalue())
    text = str(info.value)
    assert "torchvision::nms" in text and "torchvision::roi_align" in text
    assert "export the model with torch.onnx.export" in text
    with pytest.raises(ContractError, match="torchvision::nms"):
        check_model("instance_segmentation", buffer.getvalue(), input_size=S, class_names=["a"])


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    head=st.sampled_from([b"", b"\x08", b"PK\x03\x04", b"\x08\x07\x12"]),
    body=st.binary(max_size=300),
    task=st.sampled_from(["depth", "instance_segmentation", "interactive_segmentation", "sky"]),
    size=st.integers(min_value=-5, max_value=5000),
)
def test_upload_fuzz_answers_400_and_stores_nothing(users, client_for, head, body, task, size):
    res = upload(client_for(users["admin"]), head + body, task=task, input_size=size)
    assert res.status_code == 400, res.content
    assert ModelWeights.objects.count() == 0


# -- instance models pre-label panoramas ------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("layout", ["maskrcnn", "maskrcnn_batched", "yolo"])
def test_onnx_instance_model_prelabels_a_panorama(project, layout):
    pano = _red_panorama(project)
    if layout == "yolo":
        weights = _weights(
            g.yolo_seg_like(128, classes=3), names=["a", "red thing", "c"], input_size=128
        )
    else:
        weights = _weights(g.maskrcnn_like(S, batch=layout == "maskrcnn_batched"))
    assert weights.format == "onnx"
    save_class_mapping(project, weights, {"red thing": "car"})
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk})
    assert execute(job.pk) == "succeeded", job.error
    suggestions = list(Instance.objects.filter(panorama=pano, is_suggestion=True))
    assert len(suggestions) == 1
    s = suggestions[0]
    assert s.label_class.name == "car" and s.source == "model"
    truth = [[[[39.375, 0.0], [61.875, 0.0], [61.875, 11.25], [39.375, 11.25]]]]
    assert iou(s.geometry, truth) > 0.6


@pytest.mark.django_db
def test_onnx_semantic_model_prelabels_a_panorama(project):
    pano = _red_panorama(project)
    weights = _weights(g.semantic_like(), task="semantic_segmentation", names=["background", "car"])
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk, "view_size": 64})
    assert execute(job.pk) == "succeeded", job.error
    suggestions = list(Instance.objects.filter(panorama=pano, is_suggestion=True))
    assert [s.label_class.name for s in suggestions] == ["car"]
    truth = [[[[39.375, 0.0], [61.875, 0.0], [61.875, 11.25], [39.375, 11.25]]]]
    assert iou(suggestions[0].geometry, truth) > 0.8


def test_interactive_pair_segments_the_box_colour():
    from inference.model_contracts import build_model

    model = build_model(
        "interactive_segmentation", g.sam_encoder_like(S), input_size=S,
        mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], decoder=g.sam_decoder_like(S),
    )  # fmt: skip
    image = np.full((96, 128, 3), 90, np.uint8)
    image[20:60, 40:80] = (230, 20, 20)
    embedding = model.embed(image)
    assert embedding.shape == (1, 3, S // 4, S // 4)
    logits, predicted = model.decode(embedding, (96, 128), (30, 10, 90, 70))
    mask = logits > 0
    truth = np.zeros_like(mask)
    truth[20:60, 40:80] = True
    # an embedding cell is 8 image pixels here: the outline is coarse, the object is found
    assert (mask & truth).sum() / (mask | truth).sum() > 0.6 and predicted == pytest.approx(0.9)
    assert not mask[:, :30].any() and not mask[:10].any()
