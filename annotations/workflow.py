"""The review workflow: new → in_progress → submitted → approved | rejected → ...

Annotators submit panoramas assigned to them (managers and reviewers may too);
reviewers and managers approve, or reject with a comment saying what to fix; managers
reopen with a reason. Each transition is a ReviewEvent. What the states allow to be
edited is in ``permissions.edit_lock``: submitted work is read-only for its annotators,
approved work for everyone, so reopening (or rejecting) is the only way back to editing
and it always leaves a reason in the history.
"""

from __future__ import annotations

from django.db import transaction

from .models import Panorama, PanoramaStatus, ReviewEvent
from .permissions import can_manage, can_review, may_annotate

S = PanoramaStatus

# action -> (allowed source statuses, target status)
TRANSITIONS = {
    "submit": ({S.NEW, S.IN_PROGRESS, S.REJECTED}, S.SUBMITTED),
    "approve": ({S.SUBMITTED}, S.APPROVED),
    "reject": ({S.SUBMITTED, S.APPROVED}, S.REJECTED),
    "reopen": ({S.SUBMITTED, S.APPROVED, S.REJECTED}, S.IN_PROGRESS),
}


#: Transitions that give work back for editing must say why (the message when they don't).
REASON_REQUIRED = {
    "reject": "a rejection needs a comment saying what to fix",
    "reopen": "reopening needs a reason (it makes reviewed work editable again)",
}


class WorkflowError(Exception):
    """``kind`` is 'forbidden' (403), 'invalid' (400) or 'conflict' (409, wrong state)."""

    def __init__(self, message: str, kind: str = "conflict"):
        super().__init__(message)
        self.kind = kind


def allowed(user, panorama: Panorama, action: str) -> bool:
    if action == "submit":
        return may_annotate(user, panorama)
    if action in {"approve", "reject"}:
        return can_review(user, panorama.project_id)
    if action == "reopen":
        return can_manage(user, panorama.project_id)
    return False


def transition(panorama: Panorama, action: str, user, comment: str = "") -> Panorama:
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action}", kind="invalid")
    if not allowed(user, panorama, action):
        raise WorkflowError(f"your role does not allow '{action}'", kind="forbidden")
    sources, target = TRANSITIONS[action]
    with transaction.atomic():
        locked = Panorama.objects.select_for_update().get(pk=panorama.pk)
        if locked.status not in sources:
            raise WorkflowError(f"cannot {action} a panorama that is {locked.status}")
        if action in REASON_REQUIRED and not comment.strip():
            raise WorkflowError(REASON_REQUIRED[action], kind="invalid")
        locked.status = target
        locked.save(update_fields=["status", "updated_at"])
        ReviewEvent.objects.create(
            panorama=locked, user=user, action=action, comment=comment, revision=locked.revision
        )
    return locked
