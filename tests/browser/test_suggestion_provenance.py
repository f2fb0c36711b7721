"""The workspace shows, beside the suggestions, where each model's suggestions come from:
trained on what, validation IoU per class, whether the scores are calibrated — to editors and
to viewers alike (headless Chromium)."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from annotations.models import Instance, LabelClass
from inference.models import ModelWeights
from inference.prelabel.store import remember_suggestion_model
from tests.registry import onnx_graphs as g

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_suggestions_show_their_models_provenance(
    users, project, signed_in, live_server, artifacts
):
    from tests.factories import make_panorama, square_geometry

    pano = make_panorama(project, seed=3, width=1024, name="street_0002.jpg")
    pano.assignees.add(users["annotator"])
    weights = ModelWeights(
        name="project model",
        version="p1-j7",
        task="semantic_segmentation",
        project=project,
        input_size=64,
        class_names=["background", "car"],
        validation={
            "iou": {"car": 0.91},
            "panoramas": 3,
            "calibration": {"fitted": True, "classes": {"car": {"precision": 0.88}}},
        },
        provenance={"trained_on": "12 approved panoramas of Streets", "panoramas": 12},
    )
    weights.file.save("m.onnx", ContentFile(g.semantic_like()), save=False)
    weights.save()
    remember_suggestion_model(project, "project model vp1-j7", weights)
    car = LabelClass.objects.get(project=project, name="car")
    made = []
    for k, version in enumerate(["project model vp1-j7", "detector:mtcnn", "old model v0"]):
        made.append(
            Instance.objects.create(
                panorama=pano,
                label_class=car,
                geometry=square_geometry(-60 + 50 * k, 0, 8),
                source="model",
                is_suggestion=True,
                score=0.8,
                model_version=version,
            )
        )
    pano.bump_revision()

    for role in ("annotator", "viewer"):
        page = signed_in(users[role])
        page.goto(f"{live_server.url}/panoramas/{pano.pk}/")
        mine = page.locator("#suggestion-provenance [data-version='project model vp1-j7']")
        expect(mine).to_contain_text("project model p1-j7")
        expect(mine).to_contain_text("12 approved panoramas of Streets (12 panoramas)")
        mine.locator("summary").click()
        expect(mine).to_contain_text("Validation IoU (3 panoramas): car 0.91")
        expect(mine).to_contain_text("Scores calibrated")
        expect(mine).to_contain_text("precision car 0.88")
        detector = page.locator("#suggestion-provenance [data-version='detector:mtcnn']")
        expect(detector).to_contain_text("Pretrained detectors")
        expect(detector).to_contain_text("facenet-pytorch 2.6.0")
        unknown = page.locator("#suggestion-provenance [data-version='old model v0']")
        expect(unknown).to_contain_text("provenance not recorded")
        title = page.locator(f"#instance-list li[data-uid='s{made[0].pk}'] .source")
        expect(title).to_have_attribute(
            "title",
            "Suggested by project model p1-j7 · validation IoU for car: 0.91 · calibrated score",
        )
        page.screenshot(path=str(artifacts / f"suggestion_provenance_{role}.png"))
        page.close()
