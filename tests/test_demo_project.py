"""The run command's demo project: complete, pre-annotated, and loading it twice adds nothing."""

from __future__ import annotations

from django.core.management import call_command

from annotations.models import Instance, LabelClass, Panorama, Project


def test_demo_project_loads_once(db):
    call_command("load_demo", width=256)
    project = Project.objects.get()
    counts = (Panorama.objects.count(), Instance.objects.count(), LabelClass.objects.count())
    assert counts[0] == 10  # 5 synthetic + 5 real HDRs
    assert {"building", "car", "person", "road", "sky", "tree", "pole", "ignore"} <= set(
        project.classes.values_list("name", flat=True)
    )
    assert Panorama.objects.filter(is_hdr=True).count() == 5
    annotated = Panorama.objects.get(original_name="synthetic_street_1.png")
    assert annotated.instances.count() > 5 and annotated.status == "approved"
    assert Instance.objects.exclude(panorama=annotated).count() == 0
    call_command("load_demo", width=256)
    assert (
        Panorama.objects.count(),
        Instance.objects.count(),
        LabelClass.objects.count(),
    ) == counts
