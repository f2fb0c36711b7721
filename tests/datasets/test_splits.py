"""Dataset splits: reproducible (same seed, same split), stable when panoramas are added,
grouped by a metadata key or read from one, recorded in every format (per-split COCO files,
a ``split`` field per image, ``splits.json``), from the API and the command."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.models import Panorama
from datasets.splits import SplitError, SplitSpec, assign, parse_split, split_of
from tests.factories import make_panorama

from .helpers import SQUARE, export, label, read_json

RATIOS = {"train": 0.7, "val": 0.2, "test": 0.1}


def _sha(k: int) -> str:
    return hashlib.sha256(f"panorama {k}".encode()).hexdigest()


def test_same_seed_same_split_and_ratios_hold_in_expectation():
    spec = parse_split({"ratios": RATIOS, "seed": 42})
    rows = [(k, _sha(k), {}) for k in range(4000)]
    first, again = assign(spec, rows), assign(parse_split({"ratios": RATIOS, "seed": 42}), rows)
    assert first == again
    counts = {name: sum(1 for s in first.values() if s == name) for name in RATIOS}
    for name, ratio in RATIOS.items():
        assert abs(counts[name] / 4000 - ratio) < 0.03, counts
    other = assign(parse_split({"ratios": RATIOS, "seed": 43}), rows)
    assert sum(first[k] != other[k] for k in first) > 1000  # another seed, another split


def test_adding_panoramas_never_moves_the_others():
    spec = parse_split({"ratios": RATIOS, "seed": "s"})
    before = assign(spec, [(k, _sha(k), {}) for k in range(500)])
    after = assign(spec, [(k, _sha(k), {}) for k in range(1500)])
    assert all(after[k] == before[k] for k in before)
    # and the split of a panorama depends on its checksum, not on its id
    assert split_of(spec, _sha(3), {}) == before[3]


def test_group_keeps_panoramas_together_and_field_reads_the_split():
    spec = parse_split({"ratios": RATIOS, "seed": 1, "group": "drive.id"})
    rows = [(k, _sha(k), {"drive": {"id": f"d{k % 25}"}}) for k in range(500)]
    got = assign(spec, rows)
    for drive in range(25):
        assert len({got[k] for k in range(500) if k % 25 == drive}) == 1
    assert len(set(got.values())) == 3
    field = parse_split({"field": "split"})
    assert split_of(field, _sha(1), {"split": "test"}) == "test"
    assert split_of(field, _sha(1), {"split": "no way!"}) == "unassigned"
    assert split_of(field, _sha(1), {}) == "unassigned"


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("train", "must be an object"),
        ({"ratios": {}}, "1..16"),
        ({"ratios": {"train": -1}}, ">= 0"),
        ({"ratios": {"train": float("nan")}}, "finite"),
        ({"ratios": {"train": 0, "val": 0}}, "more than 0"),
        ({"ratios": {"a/b": 1}}, "split name"),
        ({"ratios": {"unassigned": 1}}, "split name"),
        ({"ratios": [["a", 1], ["a", 2]]}, "twice"),
        ({"ratios": {f"s{k}": 1 for k in range(17)}}, "1..16"),
        ({"ratios": {"a": 1}, "seed": 1.5}, "seed"),
        ({"ratios": {"a": 1}, "seed": "x" * 201}, "seed"),
        ({"ratios": {"a": 1}, "group": "a..b"}, "metadata key"),
        ({"field": "a.b.c.d.e"}, "metadata key"),
        ({"ratios": {"a": 1}, "colour": "red"}, "unknown split keys"),
    ],
)
def test_bad_split_options_are_named(value, fragment):
    with pytest.raises(SplitError, match=fragment):
        parse_split(value)


def test_stored_form_parses_to_itself():
    spec = parse_split({"ratios": {"train": 8, "val": 1, "test": 1}, "seed": 9, "group": "g"})
    assert spec.ratios == (("train", 0.8), ("val", 0.1), ("test", 0.1))
    stored = json.loads(json.dumps(spec.__dict__))
    assert parse_split(stored) == spec


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {},
            optional={
                "method": JSONISH,
                "ratios": JSONISH,
                "seed": JSONISH,
                "field": JSONISH,
                "group": JSONISH,
            },
        ),
    )
)
def test_fuzz_parse_split(value):
    try:
        spec = parse_split(value)
    except SplitError:
        return
    assert spec is None or isinstance(spec, SplitSpec)
    if spec is not None and spec.method == "ratio":
        assert abs(sum(r for _, r in spec.ratios) - 1.0) < 1e-9
        assert split_of(spec, _sha(0), {"x": value}) in spec.names


# -- exports ---------------------------------------------------------------------------


@pytest.fixture
def panoramas(db, project):
    out = []
    for k in range(12):
        pano = make_panorama(project, seed=20 + k, width=64)
        label(pano, [SQUARE])
        out.append(pano)
    return out


def _members(path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


@pytest.mark.django_db
def test_coco_export_writes_one_file_per_split_and_a_splits_file(project, panoramas, tmp_path):
    split = {"ratios": {"train": 0.5, "val": 0.25, "test": 0.25}, "seed": 5}
    path = export(project, tmp_path, format="coco", split=split)
    names = _members(path)
    assert "annotations/instances.json" not in names
    document = read_json(path, "splits.json")
    assert document["splits"] == ["train", "val", "test"] and document["seed"] == "5"
    where = {p["id"]: p["split"] for p in document["panoramas"]}
    assert sorted(where) == sorted(p.pk for p in panoramas)
    seen = []
    for name in ("train", "val", "test"):
        data = read_json(path, f"annotations/instances_{name}.json")
        ids = [i["id"] for i in data["images"]]
        assert all(where[i] == name for i in ids)
        assert all(i["split"] == name for i in data["images"])
        assert {a["image_id"] for a in data["annotations"]} == set(ids)
        assert document["counts"][name] == len(ids)
        assert data["categories"] and "year" in data["info"]
        seen += ids
    assert sorted(seen) == sorted(where)
    # the same seed again: the same split; a new panorama leaves the others where they were
    again = tmp_path / "again"
    again.mkdir()
    make_panorama(project, seed=99, width=64)
    later = read_json(export(project, again, format="coco", split=split), "splits.json")
    moved = {p["id"]: p["split"] for p in later["panoramas"]}
    assert all(moved[k] == v for k, v in where.items()) and len(moved) == len(where) + 1


@pytest.mark.django_db
def test_field_split_in_png_label360_and_views(project, panoramas, tmp_path):
    for k, pano in enumerate(panoramas):
        value = ["train", "val", None][k % 3]
        Panorama.objects.filter(pk=pano.pk).update(metadata={"split": value} if value else {})
    split = {"field": "split"}
    png = export(project, tmp_path, format="png", split=split)
    names = _members(png)
    document = read_json(png, "splits.json")
    assert document["splits"] == ["train", "val", "unassigned"]
    assert document["counts"] == {"train": 4, "val": 4, "unassigned": 4}
    for p in document["panoramas"]:
        assert any(n.startswith(f"semantic/{p['split']}/{p['id']:06d}_") for n in names)
    data = read_json(export(project, tmp_path, format="label360", split=split), "label360.json")
    assert {p["id"]: p["split"] for p in data["panoramas"]} == {
        p["id"]: p["split"] for p in document["panoramas"]
    }
    views = export(project, tmp_path, format="coco_views", split=split, face_size=16)
    val = read_json(views, "annotations/instances_val.json")
    assert len(val["images"]) == 4 * 6 and all(i["split"] == "val" for i in val["images"])


@pytest.mark.django_db
def test_export_command_panoramas_and_split(project, panoramas, tmp_path):
    chosen = [panoramas[0].pk, panoramas[3].pk, panoramas[5].pk]
    out = tmp_path / "cmd.zip"
    stdout = io.StringIO()
    call_command(
        "export_dataset",
        str(project.pk),
        str(out),
        *[arg for pk in chosen for arg in ("--panorama", str(pk))],
        "--split",
        "train=2",
        "--split",
        "val=1",
        "--seed",
        "7",
        stdout=stdout,
    )
    summary = json.loads(stdout.getvalue())
    assert sum(summary["splits"].values()) == 3
    document = read_json(out, "splits.json")
    assert sorted(p["id"] for p in document["panoramas"]) == sorted(chosen)
    images = read_json(out, "annotations/instances_train.json")["images"]
    images += read_json(out, "annotations/instances_val.json")["images"]
    assert sorted(i["id"] for i in images) == sorted(chosen)
    with pytest.raises(CommandError, match="not in the project"):
        call_command("export_dataset", str(project.pk), str(out), "--panorama", "999999")
    with pytest.raises(CommandError, match="NAME=RATIO"):
        call_command("export_dataset", str(project.pk), str(out), "--split", "train")


@pytest.mark.django_db(transaction=True)
def test_split_and_panoramas_through_the_api(project, panoramas, users, client_for, settings):
    settings.LABEL360_EXPORTS_INLINE = True
    client = client_for(users["viewer"])
    body = {
        "project": project.pk,
        "format": "coco",
        "panoramas": [panoramas[1].pk, panoramas[2].pk],
        "split": {"ratios": {"train": 1, "test": 1}, "seed": 3},
    }
    response = client.post("/api/exports/", body, format="json")
    assert response.status_code == 200, response.data
    assert sum(response.data["summary"]["splits"].values()) == 2
    assert response.data["options"]["split"]["ratios"] == [["train", 0.5], ["test", 0.5]]
    bad = client.post("/api/exports/", {**body, "split": {"ratios": {"train": "x"}}}, format="json")
    assert bad.status_code == 400 and "must be a number" in bad.data["options"]
    foreign = make_panorama(make_project_for_test(), seed=77, width=64)
    outside = client.post("/api/exports/", {**body, "panoramas": [foreign.pk]}, format="json")
    assert outside.status_code == 400 and "not in the project" in outside.data["options"]
    huge = client.post(
        "/api/exports/", {**body, "split": {"ratios": {"a": 1}, "seed": "x" * 5000}}, format="json"
    )
    assert huge.status_code == 400


def make_project_for_test():
    from tests.factories import make_project

    return make_project("Elsewhere")
