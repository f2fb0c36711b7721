"""Processes that run no model never import torch: django.setup(), and the export and import
code a worker runs for datasets (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CODE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "label360.settings")
import django
django.setup()
after_setup = "torch" in sys.modules
import datasets.exporters.run, datasets.exporters.coco, datasets.exporters.labelpng
import datasets.importers.coco, datasets.importers.labelme, datasets.importers.label360
import datasets.imports, datasets.services
print(after_setup, "torch" in sys.modules)
"""


def test_setup_and_dataset_code_do_not_import_torch():
    done = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
