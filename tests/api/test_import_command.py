"""manage.py import_panoramas: imports a folder, skips bad files with reasons, re-runs safely."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from annotations.models import Panorama

from ..factories import panorama_bytes


def test_import_folder_reports_what_was_skipped(project, tmp_path):
    (tmp_path / "a.jpg").write_bytes(panorama_bytes(64, 32, seed=1))
    (tmp_path / "b.png").write_bytes(panorama_bytes(64, 32, fmt="PNG", seed=2))
    (tmp_path / "square.jpg").write_bytes(panorama_bytes(32, 32, seed=3))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored: not an image suffix")
    out = StringIO()
    call_command("import_panoramas", project.name, str(tmp_path), stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "Imported 2 of 4 files." in text
    assert "skipped square.jpg: not an equirectangular panorama" in text
    assert "skipped broken.jpg: not an image" in text
    assert set(Panorama.objects.values_list("original_name", flat=True)) == {"a.jpg", "b.png"}
    again = StringIO()
    call_command(
        "import_panoramas", str(project.pk), str(tmp_path), stdout=again, stderr=StringIO()
    )
    assert (
        "Imported 0 of 4 files." in again.getvalue() and "duplicate of panorama" in again.getvalue()
    )
    assert Panorama.objects.count() == 2
