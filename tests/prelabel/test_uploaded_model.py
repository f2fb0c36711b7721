"""Uploaded instance-segmentation models: contract, class mapping, bad files (real runner)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from torch import nn

from annotations.models import Instance
from annotations.uploads import store_panorama
from inference.models import ModelWeights
from inference.prelabel import jobs  # noqa: F401  (registers the job kinds)
from inference.prelabel.network import to_torchscript
from inference.prelabel.store import save_class_mapping
from inference.runner import execute
from inference.services import submit_job
from label360.sphere import iou

from .helpers import png_bytes


class RedDetector(nn.Module):
    """Finds the red region of a view: one 'auto' object whose mask is the red pixels."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        m = ((x[0, 0] > 0.7) & (x[0, 1] < 0.3) & (x[0, 2] < 0.3)).float()
        n = int((m.sum() > 20.0).item())
        idx = torch.nonzero(m > 0)
        box = torch.zeros((1, 4))
        if n == 1:
            ys, xs = idx[:, 0], idx[:, 1]
            box = torch.stack([xs.min(), ys.min(), xs.max(), ys.max()]).float()[None]
        return {
            "boxes": box[:n],
            "labels": torch.zeros(n, dtype=torch.long),
            "scores": torch.full((n,), 0.9),
            "masks": m[None, None].repeat(n, 1, 1, 1),
        }


class WrongOutput(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


def _weights(module: nn.Module | None, raw: bytes | None = None, names=("auto",)) -> ModelWeights:
    data = to_torchscript(module) if module is not None else raw
    w = ModelWeights(
        name="uploaded", task="instance_segmentation", input_size=128, class_names=list(names)
    )
    w.file.save("uploaded.pt", ContentFile(data), save=False)
    w.save()
    return w


def _red_panorama(project):
    rgb = np.full((256, 512, 3), 90, np.uint8)
    # a red patch around lon 45 (columns 320..336), lat 0..11 (rows 112..128)
    rgb[112:128, 312:344] = (230, 20, 20)
    return store_panorama(project, "red.png", png_bytes(rgb))


@pytest.mark.django_db
def test_uploaded_model_runs_through_the_job_and_maps_classes(project):
    pano = _red_panorama(project)
    weights = _weights(RedDetector())
    save_class_mapping(project, weights, {"auto": "car"})
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk})
    assert execute(job.pk) == "succeeded", job.error
    suggestions = list(Instance.objects.filter(panorama=pano, is_suggestion=True))
    assert len(suggestions) == 1
    s = suggestions[0]
    assert s.label_class.name == "car" and s.source == "model"
    assert s.model_version == "uploaded v1" and s.score == pytest.approx(0.9)
    # equirect patch: lon 39.375..61.875, lat 0..11.25 (pixel edges); outline at pixel centres
    truth = [[[[39.375, 0.0], [61.875, 0.0], [61.875, 11.25], [39.375, 11.25]]]]
    assert iou(s.geometry, truth) > 0.7


@pytest.mark.django_db
def test_mapping_to_a_missing_class_is_rejected(project, client_for, users):
    weights = _weights(RedDetector())
    with pytest.raises(ValidationError, match="no class 'lorry'"):
        save_class_mapping(project, weights, {"auto": "lorry"})
    client = client_for(users["manager"])
    answer = client.put(
        "/api/prelabel/mappings/",
        {"project": project.pk, "weights": weights.pk, "mapping": {"auto": "lorry"}},
        format="json",
    )
    assert answer.status_code == 400 and "lorry" in str(answer.json())
    ok = client.put(
        "/api/prelabel/mappings/",
        {"project": project.pk, "weights": weights.pk, "mapping": {"auto": "car"}},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["mapping"] == {"auto": "car"}
    assert (
        client_for(users["annotator"])
        .put(
            "/api/prelabel/mappings/",
            {"project": project.pk, "weights": weights.pk, "mapping": {"auto": "car"}},
            format="json",
        )
        .status_code
        == 403
    )


@pytest.mark.django_db
def test_weights_that_are_not_torchscript_fail_the_job_clearly(project):
    pano = _red_panorama(project)
    weights = _weights(RedDetector())
    save_class_mapping(project, weights, {"auto": "car"})
    with open(weights.file.path, "wb") as handle:  # the stored file got replaced/corrupted
        handle.write(b"this is not a TorchScript archive")
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk})
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert "neither TorchScript" in job.error and "nor ONNX" in job.error


@pytest.mark.django_db
def test_outputs_off_contract_are_refused_at_upload_and_fail_the_job_clearly(project):
    with pytest.raises(ValidationError, match="expected boxes, labels, scores, masks"):
        _weights(WrongOutput())
    pano = _red_panorama(project)
    weights = _weights(RedDetector())
    save_class_mapping(project, weights, {"auto": "car"})
    with open(weights.file.path, "wb") as handle:  # the stored file was replaced since
        handle.write(to_torchscript(WrongOutput()))
    job = submit_job("prelabel", panoramas=[pano], params={"weights": weights.pk})
    assert execute(job.pk) == "failed"
    job.refresh_from_db()
    assert "expected boxes, labels, scores, masks" in job.error
    assert not Instance.objects.filter(panorama=pano).exists()
