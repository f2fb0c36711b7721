"""Pretrained detector weights: where they live, how set-up fetches them, how they are checked.

Two detectors ship their weights inside packages of the Python package index, and nothing
is ever downloaded at run time:

* the MTCNN face detector's ``pnet/rnet/onet`` state dicts inside the ``facenet-pytorch``
  wheel (MIT). That package pins an old torch and imports torchvision, so it is **not**
  installed: set-up downloads the wheel (``pip download --no-deps``), checks its hash and
  extracts only the three weight files and the licence, which our own network
  (:mod:`.mtcnn`) loads;
* the PP-OCRv4 text detection and recognition ONNX models inside the
  ``rapidocr_onnxruntime`` wheel (Apache-2.0). That package requires ``opencv-python``,
  which must not sit next to ``opencv-contrib-python-headless`` (both provide ``cv2``), so it
  is fetched the same way; the models run on onnxruntime (a declared dependency) through our
  own pre/post-processing (:mod:`.text`).

``python -m inference.detectors.weights`` (called by ``scripts/setup.sh``) fetches what is
missing into ``settings.LABEL360_DETECTOR_WEIGHTS_DIR``. Every extracted file has a pinned
SHA-256, so a truncated or corrupt file is refused with a message naming it and the fix.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


class WeightsError(RuntimeError):
    """A detector's weights are missing, corrupt or not what the network expects."""


FIX = "run scripts/setup.sh (or: python -m inference.detectors.weights) to fetch them"


@dataclass(frozen=True)
class WheelSource:
    """A wheel on the package index and the files taken from it (``member -> local name``)."""

    name: str
    requirement: str
    filename: str
    sha256: str
    files: dict[str, tuple[str, str]]  # member -> (local name, sha256)
    licence_member: str | None
    licence_note: str

    def folder(self, root: Path) -> Path:
        return Path(root) / self.name


MTCNN = WheelSource(
    name="mtcnn",
    requirement="facenet-pytorch==2.6.0",
    filename="facenet_pytorch-2.6.0-py3-none-any.whl",
    sha256="ecb82b27beb226d106f2219efe8f829b01b87a8595badd01545679bdb9f19cca",
    files={
        "facenet_pytorch/data/pnet.pt": (
            "pnet.pt",
            "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
        ),
        "facenet_pytorch/data/rnet.pt": (
            "rnet.pt",
            "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
        ),
        "facenet_pytorch/data/onet.pt": (
            "onet.pt",
            "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
        ),
    },
    licence_member="facenet_pytorch-2.6.0.dist-info/LICENSE.md",
    licence_note=(
        "MTCNN weights (pnet.pt, rnet.pt, onet.pt) taken unchanged from the wheel "
        "facenet_pytorch-2.6.0-py3-none-any.whl (PyPI, facenet-pytorch 2.6.0, MIT licence, "
        "copyright (c) 2019 Timothy Esler; the licence text follows). The network that loads "
        "them is Label360's own (inference/detectors/mtcnn.py).\n\n"
    ),
)

RAPIDOCR = WheelSource(
    name="rapidocr",
    requirement="rapidocr_onnxruntime==1.4.4",
    filename="rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
    sha256="971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
    files={
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx": (
            "det.onnx",
            "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
        ),
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx": (
            "rec.onnx",
            "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
        ),
    },
    licence_member="rapidocr_onnxruntime-1.4.4.dist-info/METADATA",
    licence_note=(
        "Text models det.onnx (ch_PP-OCRv4_det_infer.onnx) and rec.onnx "
        "(ch_PP-OCRv4_rec_infer.onnx, its character list in the ONNX metadata) taken "
        "unchanged from the wheel rapidocr_onnxruntime-1.4.4-py3-none-any.whl (PyPI, "
        "Apache-2.0; the models are PaddleOCR's PP-OCRv4, Apache-2.0). Pre- and "
        "post-processing are Label360's own (inference/detectors/text.py). The wheel's "
        "metadata follows.\n\n"
    ),
)

SOURCES = (MTCNN, RAPIDOCR)


def default_root() -> Path:
    """``settings.LABEL360_DETECTOR_WEIGHTS_DIR`` (Django configured), else ``var/weights/detectors``."""
    try:
        from django.conf import settings

        return Path(settings.LABEL360_DETECTOR_WEIGHTS_DIR)
    except Exception:  # settings not configured (pure-library use)
        return Path(__file__).resolve().parents[2] / "var" / "weights" / "detectors"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def weight_bytes(source: WheelSource, local_name: str, root: Path | None = None) -> bytes:
    """The checked bytes of one extracted file; WeightsError if missing or corrupt."""
    expected = {local: digest for local, digest in source.files.values()}
    if local_name not in expected:
        raise WeightsError(f"{source.name}: no weights file named {local_name!r}")
    path = source.folder(root or default_root()) / local_name
    if not path.is_file():
        raise WeightsError(f"{source.name} weights file {path} is missing: {FIX}")
    data = path.read_bytes()
    if _sha256(data) != expected[local_name]:
        raise WeightsError(
            f"{source.name} weights file {path} is corrupt (SHA-256 differs from the pinned "
            f"hash of {source.filename}; {len(data)} bytes): delete it and {FIX}"
        )
    return data


def missing(root: Path | None = None) -> list[str]:
    """Names of the weight files that are absent or whose hash is wrong."""
    out = []
    for source in SOURCES:
        for local, _digest in source.files.values():
            try:
                weight_bytes(source, local, root)
            except WeightsError:
                out.append(f"{source.name}/{local}")
    return out


def extract_wheel(source: WheelSource, wheel: bytes, root: Path) -> list[Path]:
    """Check the wheel's hash, write its weight files and the licence note into the folder."""
    if _sha256(wheel) != source.sha256:
        raise WeightsError(f"{source.filename}: SHA-256 differs from the pinned hash; refused")
    folder = source.folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for member, (local, digest) in source.files.items():
            data = archive.read(member)
            if _sha256(data) != digest:
                raise WeightsError(f"{source.filename}: {member} has an unexpected hash")
            tmp = folder / f".{local}.tmp"
            tmp.write_bytes(data)
            tmp.replace(folder / local)  # atomic: a reader never sees half a file
            written.append(folder / local)
        licence = source.licence_note
        if source.licence_member:
            licence += archive.read(source.licence_member).decode("utf-8", "replace")
    (folder / "LICENCE.txt").write_text(licence, encoding="utf-8")
    (folder / "SOURCE.json").write_text(
        json.dumps(
            {
                "requirement": source.requirement,
                "wheel": source.filename,
                "wheel_sha256": source.sha256,
                "files": {local: digest for local, digest in source.files.values()},
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return written


def fetch(root: Path | None = None, quiet: bool = False) -> list[str]:
    """Download (``pip download --no-deps``) and extract every source with a missing file.

    Install-time only: this is the one place that talks to the package index.
    Returns the names of the sources fetched.
    """
    root = Path(root or default_root())
    fetched = []
    for source in SOURCES:
        bad = [
            local
            for local, _d in source.files.values()
            if f"{source.name}/{local}" in missing(root)
        ]
        if not bad:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
            cmd += ["-d", tmp, source.requirement] + (["-q"] if quiet else [])
            subprocess.run(cmd, check=True)
            wheel = Path(tmp) / source.filename
            if not wheel.is_file():
                raise WeightsError(f"pip did not produce {source.filename}")
            extract_wheel(source, wheel.read_bytes(), root)
        fetched.append(source.name)
    return fetched


def main() -> None:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
    try:
        import django

        django.setup()
    except Exception:
        pass
    root = default_root()
    done = fetch(root, quiet=True)
    left = missing(root)
    if left:
        raise SystemExit(f"detector weights still missing or corrupt in {root}: {left}")
    print(f"detector weights in {root}: " + (f"fetched {', '.join(done)}" if done else "present"))


if __name__ == "__main__":
    main()
