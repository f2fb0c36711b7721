"""A project manager runs a project in headless Chromium, through the pages only: create a
project (classes pasted as JSON), edit classes (colour, shortcut, attribute schema, drag
order, deleting a used class), add members, upload with a refused file and a chunked large
file, assign work, start processing, and read the dashboard; plus archive / delete."""

from __future__ import annotations

import json
import os

import pytest

from annotations.models import (
    Instance,
    LabelClass,
    Membership,
    Panorama,
    Project,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES_JSON = [
    {"name": "car", "color": "#e03131", "shortcut": "q"},
    {"name": "person", "color": "#1c7ed6"},
    {"name": "sign", "color": "#2f9e44"},
]


def lead_user():
    """A non-staff user allowed to create projects (the "add project" permission)."""
    from django.contrib.auth.models import Permission

    from tests.factories import make_user

    lead = make_user("lead")
    lead.user_permissions.add(Permission.objects.get(codename="add_project"))
    return lead


def wait_ready(page):
    page.wait_for_function("document.body.dataset.ready === '1'")


def test_create_project_and_edit_classes(users, signed_in, live_server, artifacts):
    from tests.factories import make_user

    lead = lead_user()
    make_user("newcomer")
    page = signed_in(lead)
    page.click("#new-project")
    page.fill("#project-name", "Harbour")
    page.fill("#project-description", "Street panoramas of the harbour")
    page.fill("#project-fov", "110")
    page.check("input[name=class-source][value=paste]")
    page.fill("#classes-json", "not json")
    page.click("[data-testid=dialog-ok]")
    assert "not valid JSON" in page.inner_text("#project-dialog .form-error")
    page.fill("#classes-json", json.dumps([{"name": "car", "shortcut": "d"}]))
    page.click("[data-testid=dialog-ok]")
    page.wait_for_selector("#project-dialog .form-error:has-text('tool key')")
    page.fill("#classes-json", json.dumps(CLASSES_JSON))
    page.screenshot(path=str(artifacts / "manager_new_project.png"))
    page.click("[data-testid=dialog-ok]")
    page.wait_for_url("**/settings/")
    wait_ready(page)
    project = Project.objects.get(name="Harbour")
    assert project.default_fov == 110
    assert Membership.objects.get(project=project, user=lead).role == "manager"
    assert list(project.classes.order_by("order").values_list("name", flat=True)) == [
        "car",
        "person",
        "sign",
    ]

    # rename, recolour, shortcut (a tool key is refused and shown on the row)
    row = "[data-class-name=person]"
    page.fill(f"{row} [data-testid=class-name]", "pedestrian")
    page.press("[data-class-name=person] [data-testid=class-name]", "Tab")
    page.wait_for_selector("[data-class-name=pedestrian]")
    row = "[data-class-name=pedestrian]"
    page.fill(f"{row} [data-testid=class-shortcut]", "e")
    page.press(f"{row} [data-testid=class-shortcut]", "Tab")
    page.wait_for_selector(".row-error:has-text('tool key')")
    page.fill(f"{row} [data-testid=class-shortcut]", "p")
    page.press(f"{row} [data-testid=class-shortcut]", "Tab")
    page.wait_for_function(
        "document.querySelector('[data-class-name=pedestrian] [data-testid=class-shortcut]')"
        ".value === 'p' && !document.querySelector('.row-error:not([hidden])')"
    )
    page.eval_on_selector(
        f"{row} [data-testid=class-color]",
        "(el) => { el.value = '#7048e8'; el.dispatchEvent(new Event('change', {bubbles: true})); }",
    )
    page.wait_for_function(
        "document.querySelector('[data-class-name=pedestrian] [data-testid=class-color]')"
        ".value === '#7048e8'"
    )
    page.check("[data-class-name=sign] [data-testid=class-ignore]")
    page.wait_for_timeout(300)

    # attribute schema of "car": bool, text and enum
    page.click("[data-class-name=car] [data-testid=class-attributes]")
    for name, kind, options in [
        ("occluded", "bool", ""),
        ("plate", "str", ""),
        ("kind", "enum", "sedan, van"),
    ]:
        page.click("[data-testid=add-attribute]")
        rows = page.locator(".schema-row")
        last = rows.nth(rows.count() - 1)
        last.locator(".attr-name").fill(name)
        last.locator(".attr-type").select_option(kind)
        if options:
            last.locator(".attr-options").fill(options)
    page.screenshot(path=str(artifacts / "manager_classes_schema.png"))
    page.click("[data-testid=save-attributes]")
    page.wait_for_selector(
        "[data-class-name=car] [data-testid=class-attributes]:has-text('3 attributes')"
    )

    # drag "sign" above "car"
    page.drag_and_drop("[data-class-name=sign] .drag-handle", "[data-class-name=car]")
    page.wait_for_function("document.querySelector('.class-edit-row').dataset.className === 'sign'")
    classes = {c.name: c for c in project.classes.all()}
    assert [c.name for c in project.classes.order_by("order")] == ["sign", "car", "pedestrian"]
    assert classes["pedestrian"].shortcut == "p" and classes["pedestrian"].color == "#7048e8"
    assert classes["sign"].is_ignore
    assert classes["car"].attribute_schema == [
        {"name": "occluded", "type": "bool"},
        {"name": "plate", "type": "str"},
        {"name": "kind", "type": "enum", "options": ["sedan", "van"]},
    ]

    # deleting a used class shows the count and asks
    from tests.factories import make_panorama, square_geometry

    pano = make_panorama(project, seed=2)
    Instance.objects.create(panorama=pano, label_class=classes["sign"], geometry=square_geometry())
    page.reload()
    wait_ready(page)
    page.click("[data-class-name=sign] [data-testid=delete-class]")
    page.wait_for_selector(".modal:has-text('1 instance in this project')")
    page.click("text=Cancel")
    assert LabelClass.objects.filter(pk=classes["sign"].pk).exists()
    page.click("[data-class-name=sign] [data-testid=delete-class]")
    page.click("[data-testid=confirm-ok]")
    page.wait_for_selector("[data-class-name=sign]", state="detached")
    assert not Instance.objects.filter(panorama=pano).exists()

    # members: add an existing user found by name, change a role
    page.fill("#member-username", "newc")
    page.wait_for_function("document.querySelectorAll('#user-hits option').length > 0")
    page.fill("#member-username", "newcomer")
    page.select_option("#member-role", "annotator")
    page.click("#add-member button[type=submit]")
    page.wait_for_selector("tr[data-username=newcomer]")
    page.select_option("tr[data-username=newcomer] [data-testid=member-role]", "reviewer")
    page.wait_for_timeout(400)
    assert Membership.objects.get(project=project, user__username="newcomer").role == "reviewer"
    page.screenshot(path=str(artifacts / "manager_settings.png"), full_page=True)


def test_archive_and_delete_with_a_summary(users, project, signed_in, live_server, artifacts):
    from tests.factories import make_panorama, square_geometry

    pano = make_panorama(project, seed=4)
    Instance.objects.create(
        panorama=pano, label_class=project.classes.first(), geometry=square_geometry()
    )
    page = signed_in(users["manager"])
    card = f"[data-project-id='{project.pk}']"
    page.click(f"{card} [data-testid=archive-project]")
    page.wait_for_selector(card, state="detached")
    page.check("#show-archived")
    page.click(f"{card} [data-testid=restore-project]")
    page.wait_for_selector(f"{card}", state="detached")
    page.uncheck("#show-archived")
    page.wait_for_selector(card)
    assert Project.objects.get(pk=project.pk).archived_at is None
    assert not page.is_visible(f"{card} [data-testid=delete-project]")  # managers do not delete

    admin = signed_in(users["admin"])
    admin.click(f"{card} [data-testid=delete-project]")
    admin.wait_for_selector("#deletion-list")
    text = admin.inner_text("#deletion-list")
    assert "1 panoramas" in text and "1 instances" in text and "2 label classes" in text
    admin.screenshot(path=str(artifacts / "manager_delete_summary.png"))
    admin.click("[data-testid=dialog-ok]")
    assert "does not match" in admin.inner_text("#delete-dialog .form-error")
    admin.fill("#confirm-name", project.name)
    admin.click("[data-testid=dialog-ok]")
    admin.wait_for_selector(card, state="detached")
    assert not Project.objects.filter(pk=project.pk).exists()


def _noise_png(width: int, seed: int) -> bytes:
    """A 2:1 PNG of noise (incompressible, so its size is about width²·1.5 bytes)."""
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(width // 2, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=0)
    return out.getvalue()


def test_upload_assign_and_process(users, project, signed_in, live_server, artifacts, tmp_path):
    from inference.models import Job
    from inference.runner import execute
    from tests.factories import panorama_bytes

    files = []
    for k in range(2):
        path = tmp_path / f"street_{k}.jpg"
        path.write_bytes(panorama_bytes(256, 128, seed=k))
        files.append(str(path))
    square = tmp_path / "square.jpg"
    square.write_bytes(panorama_bytes(128, 128, seed=5))
    files.append(str(square))
    big = tmp_path / "big.png"
    big.write_bytes(_noise_png(2400, 7))
    assert big.stat().st_size > 8 * 1024 * 1024  # goes in resumable chunks
    files.append(str(big))

    page = signed_in(users["manager"])
    # the connection drops during the large file's first chunk: the queue resumes it
    dropped = []

    def drop_first_chunk(route):
        if not dropped:
            dropped.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/api/uploads/*/chunk/**", drop_first_chunk)
    page.goto(f"{live_server.url}/projects/{project.pk}/upload/")
    wait_ready(page)
    page.set_input_files("#upload-files", files)
    page.wait_for_function(
        "document.querySelector('.upload-queue').dataset.pending === '0'", timeout=90000
    )
    page.screenshot(path=str(artifacts / "manager_upload.png"), full_page=True)
    states = page.eval_on_selector_all(
        ".upload-item", "els => Object.fromEntries(els.map(e => [e.dataset.name, e.dataset.state]))"
    )
    assert states == {
        "street_0.jpg": "done",
        "street_1.jpg": "done",
        "square.jpg": "refused",
        "big.png": "done",
    }
    assert "2:1" in page.inner_text(".upload-item[data-name='square.jpg'] .upload-note")
    assert dropped, "the large file went through the chunked upload"
    assert page.locator("#arrived-grid .pano-card").count() == 3
    assert "3 of 4 stored" in page.inner_text("#upload-overall-text")
    big_pano = Panorama.objects.get(project=project, original_name="big.png")
    assert big_pano.size_bytes == big.stat().st_size and big_pano.width == 2400

    # navigator: assign one selected panorama, then the next 2 unassigned shared out
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    wait_ready(page)
    first = Panorama.objects.filter(project=project).order_by("id").first()
    page.click(f"[data-panorama-id='{first.pk}'] .pano-select")
    page.click("#assign-selected")
    page.check("#assign-users input[value=annotator]")
    page.click("[data-testid=dialog-ok]")
    page.wait_for_selector(f"[data-panorama-id='{first.pk}'] .assignees:has-text('annotator')")
    page.fill("#next-n", "2")
    page.click("#assign-next")
    page.check("#assign-users input[value=annotator]")
    page.check("#assign-users input[value=reviewer]")
    page.click("[data-testid=dialog-ok]")
    page.wait_for_selector(".toast:has-text('2 panoramas assigned')")
    assigned = {
        p.original_name: sorted(p.assignees.values_list("username", flat=True))
        for p in Panorama.objects.filter(project=project)
    }
    assert sorted(assigned.values()) == [["annotator"], ["annotator"], ["reviewer"]]

    # processing: the job kinds' forms come from the API; start depth on the selection
    page.click("#process")
    page.wait_for_selector("#process-dialog")
    page.select_option("#job-kind", "depth")
    page.fill("#param-max_width", "128")
    page.click("[data-testid=dialog-ok]")
    page.wait_for_selector(".job-item[data-kind=depth][data-status=queued]")
    job = Job.objects.get(kind="depth")
    assert [p.pk for p in job.panoramas.all()] == [first.pk]
    assert job.params["max_width"] == 128
    execute(job.pk)  # a worker runs it; the panel follows
    page.wait_for_selector(f".job-item[data-job-id='{job.pk}'][data-status=succeeded]")
    done = page.locator(f".job-item[data-job-id='{job.pk}']")
    assert done.locator("a.asset-link").count() >= 1
    # the result reads as figures, the raw record only behind its toggle
    assert "estimator: geometric_prior" in done.locator(".job-figures").inner_text()
    assert not done.locator(".job-details pre").is_visible()
    done.locator(".job-details summary").click()
    assert '"panoramas"' in done.locator(".job-details pre").inner_text()
    # a second job, cancelled while queued
    page.click(f"[data-panorama-id='{first.pk}'] .pano-select")  # deselect: whole project
    page.click("#process")
    page.select_option("#job-kind", "depth")
    page.fill("#param-max_width", "96")
    page.click("[data-testid=dialog-ok]")
    queued_depth = ".job-item[data-kind=depth][data-status=queued]"
    page.wait_for_selector(f"{queued_depth} [data-testid=cancel-job]")
    # the list re-rendered with the new job (and polls while it runs): the opened result stays open
    assert done.locator(".job-details").get_attribute("open") is not None
    page.screenshot(path=str(artifacts / "manager_processing.png"), full_page=True)
    page.click(f"{queued_depth} [data-testid=cancel-job]")
    page.wait_for_selector(".job-item[data-status=cancelled]")
    assert Job.objects.filter(status="cancelled").count() >= 1
