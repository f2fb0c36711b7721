"""Registry task ``hdr``: the upload check of an HDR reconstruction model and the re-exposure
job using one for the clipped regions (tiny TorchScript and ONNX models built here)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import torch

from inference.model_contracts import ContractError, build_model, check_model
from inference.reexpose.job import ReexposeParamsForm, validate_reexpose_params
from inference.reexpose.metrics import border_step
from inference.reexpose.pipeline import RecoverOptions, model_blend_band, recover_hdr
from inference.reexpose.response import Response
from inference.registry import ParamsError
from label360.exr import read_exr

from .helpers import sky_panorama, to_ldr


class Boost(torch.nn.Module):
    """A stand-in network: the clipped pixels four times brighter, the rest unchanged."""

    def forward(self, radiance, mask):
        return radiance * (1 + 3 * mask)


class HalfSize(torch.nn.Module):
    def forward(self, radiance, mask):
        return radiance[:, :, ::2, ::2]


class OneChannel(torch.nn.Module):
    def forward(self, radiance, mask):
        return radiance[:, :1] * (1 + mask)


class Negative(torch.nn.Module):
    def forward(self, radiance, mask):
        return radiance - 2 * mask


class NotFinite(torch.nn.Module):
    def forward(self, radiance, mask):
        return radiance / mask  # infinite outside the clip


class OneInput(torch.nn.Module):
    def forward(self, radiance):
        return radiance


def torchscript(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def onnx_boost(inputs: int = 2) -> bytes:
    """``radiance * (1 + 3 mask)`` as an ONNX graph with dynamic height and width."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("radiance", TensorProto.FLOAT, [1, 3, "h", "w"])
    m = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, "h", "w"])
    y = helper.make_tensor_value_info("hdr", TensorProto.FLOAT, [1, 3, "h", "w"])
    consts = [
        numpy_helper.from_array(np.array(3.0, np.float32), "three"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    if inputs == 2:
        nodes = [
            helper.make_node("Mul", ["mask", "three"], ["m3"]),
            helper.make_node("Add", ["m3", "one"], ["gain"]),
            helper.make_node("Mul", ["radiance", "gain"], ["hdr"]),
        ]
        graph_inputs = [x, m]
    else:
        nodes = [helper.make_node("Mul", ["radiance", "one"], ["hdr"])]
        graph_inputs = [x]
    graph = helper.make_graph(nodes, "boost", graph_inputs, [y], initializer=consts)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


# -- the upload check --------------------------------------------------------------------------
def test_conforming_models_pass_the_check_and_say_what_they_take():
    found = check_model("hdr", torchscript(Boost()), input_size=64)
    assert found["format"] == "torchscript" and found["output_shape"] == [1, 3, 32, 64]
    assert found["inputs"] == ["radiance (1, 3, 32, 64) float", "mask (1, 1, 32, 64) float"]
    found = check_model("hdr", onnx_boost(), input_size=48)
    assert found["format"] == "onnx" and found["output_shape"] == [1, 3, 24, 48]
    assert [i.split()[0] for i in found["inputs"]] == ["radiance", "mask"]


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (HalfSize(), r"returned 32×16 px \(shape \(1, 3, 16, 32\)\) for a 64×32 input"),
        (OneChannel(), r"returned 1 channel\(s\).*expected 3 \(linear RGB\)"),
        (Negative(), r"negative radiance \(min -1"),
        (NotFinite(), r"NaN or infinite values"),
        (OneInput(), r"the HDR model failed on input \(1, 3, 32, 64\), \(1, 1, 32, 64\)"),
    ],
    ids=["shape", "channels", "negative", "non-finite", "one-input"],
)
def test_broken_models_are_refused_with_a_precise_message(module, message):
    with pytest.raises(ContractError, match=message):
        check_model("hdr", torchscript(module), input_size=64)


def test_bad_sizes_and_onnx_inputs_are_refused():
    with pytest.raises(ContractError, match="even number"):
        check_model("hdr", torchscript(Boost()), input_size=63)
    with pytest.raises(ContractError, match="must take two inputs"):
        check_model("hdr", onnx_boost(inputs=1), input_size=64)


@pytest.mark.django_db
def test_registry_upload_accepts_and_refuses_hdr_models(users, client_for):
    from django.core.exceptions import ValidationError
    from django.core.files.base import ContentFile
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inference.models import ModelTask, ModelWeights

    assert ModelTask.HDR == "hdr" and ModelTask.HDR.label == "HDR reconstruction (clipped regions)"
    admin = client_for(users["admin"])
    body = {"name": "boost", "task": "hdr", "input_size": 64}
    good = admin.post(
        "/api/models/", {**body, "file": SimpleUploadedFile("b.pt", torchscript(Boost()))}
    )
    assert good.status_code == 201, good.content
    stored = ModelWeights.objects.get(pk=good.json()["id"])
    assert stored.contract["output_shape"] == [1, 3, 32, 64]
    bad = admin.post(
        "/api/models/", {**body, "file": SimpleUploadedFile("n.pt", torchscript(Negative()))}
    )
    assert bad.status_code == 400 and "negative radiance" in str(bad.json()["file"])
    with pytest.raises(ValidationError, match=r"1 channel\(s\).*\(task hdr\)"):
        ModelWeights(
            name="grey", task="hdr", input_size=64,
            file=ContentFile(torchscript(OneChannel()), name="g.pt"),
        ).save()  # fmt: skip


# -- recovery with a model ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def sunny():
    radiance, _ = sky_panorama(512)
    scale = 0.4
    ldr = to_ldr(radiance, scale)
    classical = recover_hdr(ldr, RecoverOptions(response="srgb"))
    model = build_model("hdr", torchscript(Boost()), input_size=256)
    with_model = recover_hdr(ldr, RecoverOptions(response="srgb"), fill_model=model)
    return radiance * scale, ldr, classical, with_model


def test_model_changes_only_clipped_pixels(sunny):
    _, ldr, classical, out = sunny
    lin = Response("srgb").lut(256)[ldr]
    clipped = out.clipped
    assert np.array_equal(clipped, classical.clipped) and clipped.any()
    # every unclipped channel is the linearised input, bit for bit, as on the classical path
    assert np.array_equal(out.radiance[~clipped], lin[~clipped])
    assert np.array_equal(out.radiance[~clipped], classical.radiance[~clipped])
    assert out.info["fill"]["method"] == "model" and out.sun is None


def test_model_values_are_used_inside_and_joined_without_a_seam(sunny):
    truth, ldr, classical, out = sunny
    lin = Response("srgb").lut(256)[ldr]
    clipped = out.clipped
    any_clipped = clipped.any(axis=2)
    # deep inside each channel's clipped region (beyond the blend band) the model's ×4 of
    # what it was given is what comes out
    band = model_blend_band(512, 256)
    grow = np.ones((2 * band + 3,) * 2, np.uint8)
    for ch in range(3):
        deep = cv2.erode(clipped[:, :, ch].astype(np.uint8), grow) > 0
        ratio = out.radiance[:, :, ch][deep] / lin[:, :, ch][deep]
        assert np.allclose(ratio, 4.0, rtol=1e-4), (ch, ratio.min(), ratio.max())
    deep = cv2.erode(clipped[:, :, 2].astype(np.uint8), grow) > 0
    assert deep.sum() > 100
    # never below the clip level, and no step at the clipping border
    floor = Response("srgb").inverse(np.float32(250 / 255))
    assert np.all(out.radiance[clipped] >= floor - 1e-6)
    assert border_step(out.radiance, any_clipped) <= 1.5 * border_step(truth, any_clipped)
    # the model's answer is not the classical one
    assert not np.allclose(out.radiance[deep, 2], classical.radiance[deep, 2], rtol=0.05)


def test_model_fill_wraps_at_the_seam_and_runs_above_the_panorama_size():
    radiance, _ = sky_panorama(256, sun_lon=180.0, sun_lat=20.0)
    ldr = to_ldr(radiance, 0.4)
    for width in (128, 512):  # model smaller and larger than the panorama
        model = build_model("hdr", torchscript(Boost()), input_size=width)
        out = recover_hdr(ldr, RecoverOptions(response="srgb"), fill_model=model).radiance
        seam = np.abs(np.log(out[:, 0] / out[:, -1]))
        inside = np.abs(np.log(out[:, 128] / out[:, 127]))
        assert seam.max() < 3 * max(inside.max(), 0.05), width


# -- the job -----------------------------------------------------------------------------------
def test_params_need_weights_for_the_model_fill():
    assert validate_reexpose_params({})["fill"] == "classical"
    assert validate_reexpose_params({"fill": "classical", "weights": 5})["weights"] is None
    assert validate_reexpose_params({"fill": "model", "weights": 5})["weights"] == 5
    for bad in ({"fill": "model"}, {"fill": "model", "weights": "5"}, {"fill": "net"}):
        with pytest.raises(ParamsError):
            validate_reexpose_params(bad)


def _weights(task: str, module: torch.nn.Module, name: str):
    from django.core.files.base import ContentFile

    from inference.models import ModelWeights

    weights = ModelWeights(name=name, task=task, input_size=128)
    weights.file.save(f"{name}.pt", ContentFile(torchscript(module)), save=False)
    weights.save()
    return weights


@pytest.mark.django_db
def test_admin_form_offers_only_hdr_weights(users):
    hdr = _weights("hdr", Boost(), "boost")
    other = _weights("inpainting", Boost(), "inpaint")
    form = ReexposeParamsForm()
    assert list(form.fields["weights"].queryset) == [hdr]
    base = {"response": "srgb", "scene": "auto", "ev_steps": "0", "max_boost_ev": "3",
            "max_width": "1024"}  # fmt: skip
    missing = ReexposeParamsForm({**base, "fill": "model"})
    assert not missing.is_valid() and "Pick HDR reconstruction model" in str(missing.errors)
    wrong = ReexposeParamsForm({**base, "fill": "model", "weights": str(other.pk)})
    assert not wrong.is_valid() and "weights" in wrong.errors
    good = ReexposeParamsForm({**base, "fill": "model", "weights": str(hdr.pk)})
    assert good.is_valid(), good.errors
    params = validate_reexpose_params(good.to_params())
    assert params["fill"] == "model" and params["weights"] == hdr.pk
    plain = ReexposeParamsForm(base)
    assert plain.is_valid(), plain.errors
    assert validate_reexpose_params(plain.to_params())["fill"] == "classical"


@pytest.mark.django_db
def test_job_uses_the_registered_model_for_the_clipped_pixels(users, project):
    from inference.models import DerivedAsset, JobStatus

    from .test_job import _png, _run

    weights = _weights("hdr", Boost(), "boost")
    radiance, _ = sky_panorama(256)
    ldr = to_ldr(radiance, 0.4)
    params = {"response": "srgb", "ev_steps": [0], "fill": "model", "weights": weights.pk}
    pano, job, state = _run(users, project, "sunny.png", _png(ldr), params)
    assert state == JobStatus.SUCCEEDED, job.error
    with DerivedAsset.objects.get(panorama=pano, kind="hdr_radiance").file.open("rb") as f:
        exr = read_exr(f.read())
    lin = Response("srgb").lut(256)[ldr]
    clipped = ldr >= 250
    assert np.array_equal(exr[~clipped], lin[~clipped])
    assert exr[clipped].max() > 3.0  # the model's ×4 inside the sun
    result = job.result["panoramas"][str(pano.pk)]
    assert result["fill_weights"] == weights.pk and "sun_lon" not in result


@pytest.mark.django_db
def test_job_with_weights_of_another_task_fails_clearly(users, project):
    from inference.models import JobStatus

    from .test_job import _png, _run

    weights = _weights("inpainting", Boost(), "inpaint")
    radiance, _ = sky_panorama(128)
    params = {"response": "srgb", "fill": "model", "weights": weights.pk}
    _, job, state = _run(users, project, "sunny.png", _png(to_ldr(radiance, 0.4)), params)
    assert state == JobStatus.FAILED
    assert f"model weights {weights.pk}" in job.error
    assert "for the task 'inpainting', not 'hdr'" in job.error
