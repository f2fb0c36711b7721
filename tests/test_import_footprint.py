"""Light entry points stay light: ``django.setup()`` (every web process and worker), the
URLconf (every view module, loaded by a web process's first request), ``import
label360.sphere`` (the geometry core) and the dataset export and import code do not import
OpenCV, SciPy's algorithm packages, torch, ONNX Runtime, scikit-learn or scikit-image.
Those load where an image is decoded or resampled or an algorithm that needs them runs.

Each check runs in a fresh interpreter (this one has them all loaded by other tests). A failure
names the import chain through the project's files that brought each library in.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Watches imports from the start of the interpreter: for the first module of each heavy
# library, the project files on the stack (innermost first). numba imports the bare ``scipy``
# package for its version check (no submodule, about 2 MB): only ``scipy.<public package>``
# counts as SciPy being used.
WATCH = """
import json, os, sys, traceback
ROOT = os.getcwd() + os.sep
HEAVY = ("cv2", "torch", "onnxruntime", "sklearn", "skimage")

def group(name):
    parts = name.split(".")
    if parts[0] in HEAVY:
        return parts[0]
    if parts[0] == "scipy" and len(parts) > 1 and not parts[1].startswith("_"):
        return "scipy." + parts[1] if parts[1] != "version" else None
    return None

class Watch:
    first = {}

    def find_spec(self, name, path=None, target=None):
        key = group(name)
        if key and key not in self.first:
            frames = [
                f"{f.filename[len(ROOT):]}:{f.lineno}"
                for f in traceback.extract_stack()
                if f.filename.startswith(ROOT) and os.sep + ".venv" + os.sep not in f.filename
            ]
            self.first[key] = " <- ".join(reversed(frames)) or "(a library)"
        return None

sys.meta_path.insert(0, Watch())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
"""

REPORT = """
loaded = {k: v for k, v in Watch.first.items() if k in {group(m) for m in sys.modules}}
print(json.dumps(loaded))
"""

SETUP = "import django\ndjango.setup()\n"
URLCONF = SETUP + "import label360.urls\n"

DATASETS = (
    SETUP
    + """
import datasets.exporters.run, datasets.exporters.coco, datasets.exporters.labelpng
import datasets.importers.coco, datasets.importers.labelme, datasets.importers.label360
import datasets.imports, datasets.services
"""
)

# what a web process does when a job is submitted: validating params names no algorithm
VALIDATORS = (
    SETUP
    + """
from inference.aerial.jobs import validate_colour_transfer
from inference.cameraman.job import validate_cameraman_params
from inference.reexpose.job import validate_reexpose_params
validate_colour_transfer({"reference": 1, "space": "lab"})
validate_cameraman_params({"method": "smooth"})
validate_reexpose_params({})
"""
)


def heavy_imports(code: str) -> dict[str, str]:
    """{library: import chain} of the heavy libraries loaded by ``code`` in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", WATCH + code + REPORT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(SETUP, id="django.setup"),
        pytest.param(URLCONF, id="urlconf"),
        pytest.param("import label360.sphere\n", id="label360.sphere"),
        pytest.param(DATASETS, id="dataset-export-and-import"),
        pytest.param(VALIDATORS, id="job-params-validation"),
    ],
)
def test_entry_point_imports_no_heavy_library(code):
    assert heavy_imports(code) == {}


LAZY_EXPORTS = """
import sys
import label360.sphere as sphere
assert "cv2" not in sys.modules
assert set(sphere.__all__) <= set(dir(sphere))
from label360.sphere import mask_to_geometry
assert "cv2" in sys.modules
from label360.sphere import contours, projection
assert mask_to_geometry is contours.mask_to_geometry
assert sphere.equirect_to_view is projection.equirect_to_view
assert all(callable(getattr(sphere, name)) or name.isupper() for name in sphere.__all__)
try:
    sphere.no_such_name
except AttributeError as exc:
    assert "no_such_name" in str(exc)
else:
    raise AssertionError("an unknown name must raise AttributeError")
print("ok")
"""


def test_sphere_exports_every_name_and_loads_opencv_on_first_use():
    done = subprocess.run(
        [sys.executable, "-c", LAZY_EXPORTS], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok"]


def test_first_use_of_a_lazy_name_imports_its_module():
    loaded = heavy_imports("from label360.sphere import rotate_equirect\n")
    assert list(loaded) == ["cv2"]
    assert loaded["cv2"].startswith("label360/sphere/projection.py:")
