"""Saving in the browser: partial autosaves, the merge dialog after a conflict, and the workspace
turning read-only (and back) with the review workflow."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from annotations.models import Instance, LabelClass, Panorama, ReviewEvent
from annotations.workflow import transition

from .test_workspace import canvas_box, click, open_workspace, scene, set_camera, wait_saved

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["scene"]  # the fixture, shared with the workspace tests


def pill(page) -> str:
    return page.inner_text("#save-state")


def test_overlapping_changes_are_chosen_side_by_side(scene, signed_in, live_server, artifacts):
    from tests.factories import square_geometry

    pano = scene["panorama"]
    car = LabelClass.objects.get(project=scene["project"], name="car")
    building = LabelClass.objects.get(project=scene["project"], name="building")
    tree = LabelClass.objects.create(project=scene["project"], name="tree", color="#00aa00")
    a = Instance.objects.create(panorama=pano, label_class=car, geometry=square_geometry(0, 0, 10))
    b = Instance.objects.create(panorama=pano, label_class=car, geometry=square_geometry(60, 0))
    pano.bump_revision()
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    expect(page.locator("#instance-list .inst-row")).to_have_count(2)

    # meanwhile someone else gives A another class and moves a vertex of A and of B
    moved_a = [[[[-12.0, -11.0], *square_geometry(0, 0, 10)[0][0][1:]]]]
    moved_b = [[[[55.0, -12.0], *square_geometry(60, 0)[0][0][1:]]]]
    Instance.objects.filter(pk=a.pk).update(label_class=building, geometry=moved_a)
    Instance.objects.filter(pk=b.pk).update(geometry=moved_b)
    Panorama.objects.get(pk=pano.pk).bump_revision()

    # I give A a third class and delete B: the save meets their revision
    page.select_option(f"#instance-list li[data-uid='s{a.pk}'] .class-select", str(tree.pk))
    page.click(f"#instance-list li[data-uid='s{b.pk}'] [data-testid=delete-instance]")
    page.wait_for_function("window.label360.state().save === 'conflict'")
    assert page.is_visible("#banner[data-kind=conflict]")

    page.click("#conflict-reload")
    dialog = page.wait_for_selector("#merge-dialog")
    rows = page.locator("#merge-dialog .merge-row")
    expect(rows).to_have_count(2)
    assert {rows.nth(k).get_attribute("data-key") for k in range(2)} == {
        f"{a.pk}:label_class",
        f"{b.pk}:deleted",
    }
    assert "building" in dialog.inner_text() and "tree" in dialog.inner_text()
    assert page.is_disabled("#merge-apply")
    # the edits only live in the stash now: the pill must not claim they are saved
    assert pill(page) != "Saved"
    page.screenshot(path=str(artifacts / "merge_dialog.png"))

    # not now: the edits wait in the stash, the pill says so
    page.click("#merge-cancel")
    page.wait_for_selector("#reapply-edits")
    assert pill(page) == "Edits not applied"
    assert page.evaluate("window.label360.state().save") == "stashed"

    page.click("#reapply-edits")
    page.wait_for_selector("#merge-dialog")
    page.click(f".merge-option[data-key='{a.pk}:label_class'][data-side=mine]")
    assert page.is_disabled("#merge-apply")  # one left to decide
    page.click(f".merge-option[data-key='{b.pk}:deleted'][data-side=theirs]")
    page.click("#merge-apply")
    wait_saved(page)
    assert page.evaluate(f"localStorage.getItem('label360:stash:{pano.pk}')") is None

    a.refresh_from_db()
    b.refresh_from_db()
    assert a.label_class == tree, "my class (chosen)"
    assert a.geometry == moved_a, "their vertex move (no overlap) is kept"
    assert b.geometry == moved_b, "their version of B (chosen over my deletion)"
    assert page.evaluate("window.label360.workspace.saver.lastSave.method") == "patch"


def test_autosave_sends_only_the_change(scene, signed_in, live_server):
    from tests.factories import square_geometry

    pano = scene["panorama"]
    car = LabelClass.objects.get(project=scene["project"], name="car")
    Instance.objects.bulk_create(
        [
            Instance(panorama=pano, label_class=car, geometry=square_geometry(-170 + 3 * k, 0, 1))
            for k in range(100)
        ]
    )
    pano.bump_revision()
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    bodies = []
    page.on(
        "request",
        lambda r: (
            bodies.append((r.method, len(r.post_data or "")))
            if r.url.endswith("/instances/") and r.method != "GET"
            else None
        ),
    )
    set_camera(page, 0, 0, 90)
    box = canvas_box(page)
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    for x, y in [(200, 200), (300, 200), (300, 300)]:
        click(page, box, x, y)
    page.keyboard.press("Enter")
    wait_saved(page)
    assert bodies and bodies[-1][0] == "PATCH"
    assert bodies[-1][1] < 2000, "one new instance, not the 101-instance set"
    assert Instance.objects.filter(panorama=pano).count() == 101


def test_approved_work_opens_read_only_and_reopens_with_a_reason(
    scene, signed_in, live_server, artifacts
):
    pano = scene["panorama"]
    users = scene["users"]
    transition(pano, "submit", users["annotator"])

    # submitted: read-only for the annotator
    annotator = signed_in(users["annotator"])
    open_workspace(annotator, live_server, pano)
    expect(annotator.locator("#banner[data-kind=locked]")).to_contain_text("Submitted")
    assert annotator.is_disabled("#tool-draw")
    assert annotator.evaluate("window.label360.state().tool") == "pan"
    assert not annotator.is_visible("#wf-submit")
    annotator.close()

    transition(pano, "approve", users["reviewer"])
    page = signed_in(users["manager"])
    open_workspace(page, live_server, pano)
    banner = page.locator("#banner[data-kind=locked]")
    expect(banner).to_contain_text("Approved")
    assert page.is_disabled("#tool-draw") and page.is_disabled("#tool-edit")
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    assert page.evaluate("window.label360.state().tool") == "pan"
    assert pill(page) == "Read-only"
    page.screenshot(path=str(artifacts / "approved_read_only.png"))

    # reopening asks for a reason; an empty one is not accepted
    page.click("#banner-reopen")
    page.click(".modal .btn-primary")
    assert page.is_visible(".modal-text.invalid")
    page.fill(".modal-text", "The tram stop was missed.")
    page.click(".modal .btn-primary")
    page.wait_for_selector("#banner[data-kind=locked]", state="detached", timeout=15000)
    assert not page.is_disabled("#tool-draw")
    event = ReviewEvent.objects.filter(panorama=pano).first()
    assert (event.action, event.comment) == ("reopen", "The tram stop was missed.")
    assert Panorama.objects.get(pk=pano.pk).status == "in_progress"


def test_approval_during_editing_keeps_the_edits_and_turns_read_only(scene, signed_in, live_server):
    pano = scene["panorama"]
    page = signed_in(scene["users"]["annotator"])
    open_workspace(page, live_server, pano)
    # the panorama is submitted and approved from elsewhere while the annotator draws
    transition(pano, "submit", scene["users"]["reviewer"])
    transition(pano, "approve", scene["users"]["reviewer"])
    set_camera(page, 0, 0, 90)
    box = canvas_box(page)
    page.focus("#draw-canvas")
    page.keyboard.press("d")
    for x, y in [(200, 200), (300, 200), (300, 300)]:
        click(page, box, x, y)
    page.keyboard.press("Enter")
    expect(page.locator("#banner[data-kind=locked]")).to_contain_text("Approved")
    assert page.is_disabled("#tool-draw")
    assert page.evaluate(f"localStorage.getItem('label360:stash:{pano.pk}')")
    assert not Instance.objects.filter(panorama=pano).exists()
