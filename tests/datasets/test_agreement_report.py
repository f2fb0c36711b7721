"""Agreement report: only submitted replicas count, matches carry both instances' ids and
their IoU, and CSV comes through DRF's content negotiation (?format=csv, .csv, Accept)."""

from __future__ import annotations

import csv
import io

import pytest

from datasets.models import AgreementRound, AnnotationReplica

from .helpers import SEAM, SQUARE, label

pytestmark = pytest.mark.django_db

SHIFTED = [[[[22.0, -5.0], [42.0, -5.0], [42.0, 15.0], [22.0, 15.0]]]]


@pytest.fixture
def round_(project, panorama, users, client_for):
    car = project.classes.get(name="car").pk
    building = project.classes.get(name="building").pk
    created = client_for(users["manager"]).post(
        "/api/agreement-rounds/",
        {
            "project": project.pk,
            "name": "r1",
            "panoramas": [panorama.pk],
            "annotators": [users["annotator"].pk, users["reviewer"].pk],
        },
        format="json",
    )
    assert created.status_code == 201, created.data
    rid = created.data["id"]

    def put(user, instances, submitted):
        r = client_for(users[user]).put(
            f"/api/agreement-rounds/{rid}/panoramas/{panorama.pk}/replica/",
            {"instances": instances, "submitted": submitted},
            format="json",
        )
        assert r.status_code == 200, r.data

    put(
        "annotator",
        [
            {"id": "a-car", "label_class": car, "geometry": SQUARE},
            {"label_class": building, "geometry": SEAM},
        ],
        True,
    )
    put("reviewer", [{"label_class": car, "geometry": SHIFTED}], True)
    reference = label(panorama, [SQUARE])  # the main table: one car
    return AgreementRound.objects.get(pk=rid), reference[0]


def test_matches_have_instance_ids_and_ious(round_, users, client_for):
    rnd, reference = round_
    report = client_for(users["viewer"]).get(f"/api/agreement-rounds/{rnd.pk}/report/").data
    pair = next(p for p in report["pairs"] if p["a"] == "annotator" and p["b"] == "reviewer")
    (match,) = pair["matches"]
    reviewer = AnnotationReplica.objects.get(round=rnd, annotator=users["reviewer"])
    assert match["a_id"] == "a-car" and match["b_id"] == f"{reviewer.pk}:0"
    assert match["iou"] == pytest.approx(18 / 22, abs=0.01) and match["class"] == "car"
    annotator = AnnotationReplica.objects.get(round=rnd, annotator=users["annotator"])
    (only,) = pair["disagreements"]
    assert only["kind"] == "only_in_a" and only["a_id"] == f"{annotator.pk}:1"
    ref = next(p for p in report["pairs"] if p["a"] == "reference" and p["b"] == "annotator")
    assert ref["matches"][0]["a_id"] == reference.pk and ref["matches"][0]["iou"] == 1.0
    assert report["missing"] == {"annotator": [], "reviewer": []}


def test_draft_replicas_are_not_counted(round_, panorama, users, client_for):
    rnd, _ = round_
    AnnotationReplica.objects.filter(round=rnd, annotator=users["reviewer"]).update(submitted=False)
    report = client_for(users["viewer"]).get(f"/api/agreement-rounds/{rnd.pk}/report/").data
    assert report["annotators"] == ["annotator"]
    assert not any("reviewer" in (p["a"], p["b"]) for p in report["pairs"])
    assert report["missing"] == {"annotator": [], "reviewer": [panorama.pk]}
    # with the reviewer's draft left out there is no annotator pair: nothing to average
    assert report["overall"]["matched"] == 0 and report["overall"]["iou"] is None


@pytest.mark.parametrize(
    "how",
    [
        {"suffix": "?format=csv"},
        {"suffix": "?as=csv"},
        {"suffix": ".csv"},
        {"suffix": "", "HTTP_ACCEPT": "text/csv"},
        {"suffix": "?format=csv&reference=none"},
    ],
)
def test_csv_report(round_, users, client_for, how):
    rnd, _ = round_
    how = dict(how)
    suffix = how.pop("suffix")
    base = f"/api/agreement-rounds/{rnd.pk}/report"
    url = base + suffix if suffix.startswith(".") else base + "/" + suffix
    response = client_for(users["viewer"]).get(url, **how)
    assert response.status_code == 200, (url, response.content[:200])
    assert response["Content-Type"].startswith("text/csv")
    sections = response.content.decode().split("\r\n\r\n")
    assert len(sections) == 3
    summary = list(csv.reader(io.StringIO(sections[0])))
    assert summary[0][:3] == ["a", "b", "class"]
    assert any(row[:3] == ["annotator", "reviewer", "car"] for row in summary)
    matches = list(csv.reader(io.StringIO(sections[1])))
    assert matches[0] == ["a", "b", "panorama", "class", "a_id", "b_id", "iou"]
    assert any(row[:2] == ["annotator", "reviewer"] and row[4] == "a-car" for row in matches)


def test_csv_errors_keep_their_status(round_, users, client_for):
    rnd, _ = round_
    outsider = client_for(users["outsider"])
    assert outsider.get(f"/api/agreement-rounds/{rnd.pk}/report/?format=csv").status_code == 404
    bad = client_for(users["viewer"]).get(
        f"/api/agreement-rounds/{rnd.pk}/report/?format=csv&reference=other"
    )
    assert bad.status_code == 400
