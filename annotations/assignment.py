"""Bulk assignment of panoramas to project members (annotators, reviewers, managers).

Targets are either named panoramas or "the next N unassigned" (oldest first). ``mode``
``add`` adds the users to each target, ``replace`` makes them the only assignees
(reassigning), ``remove`` takes them off. With ``distribute`` the targets are dealt out
round-robin, one user each, instead of every user on every target.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import Membership, Panorama, Project

#: Most panoramas one request may touch.
MAX_TARGETS = 10_000
MODES = ("add", "replace", "remove")


class AssignmentError(ValueError):
    pass


def resolve_users(project: Project, usernames: list[str]) -> list:
    User = get_user_model()
    users = list(User.objects.filter(username__in=usernames))
    found = {u.username for u in users}
    missing = [u for u in usernames if u not in found]
    if missing:
        raise AssignmentError(f"unknown users: {', '.join(missing)}")
    roles = dict(
        Membership.objects.filter(project=project, user__in=users).values_list(
            "user__username", "role"
        )
    )
    for username in usernames:
        role = roles.get(username)
        if role is None:
            raise AssignmentError(f"{username} is not a member of this project")
        if role == "viewer":
            raise AssignmentError(f"{username} is a viewer; viewers cannot be assigned work")
    order = {name: k for k, name in enumerate(usernames)}
    return sorted(users, key=lambda u: order[u.username])


def targets(project: Project, ids: list[int] | None, next_unassigned: int | None) -> list[int]:
    if ids:
        if len(ids) > MAX_TARGETS:
            raise AssignmentError(f"at most {MAX_TARGETS} panoramas at once")
        found = list(
            Panorama.objects.filter(project=project, pk__in=ids)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        missing = sorted(set(ids) - set(found))
        if missing:
            raise AssignmentError(f"panoramas not in this project: {missing[:20]}")
        return found
    if next_unassigned:
        return list(
            Panorama.objects.filter(project=project, assignees__isnull=True)
            .order_by("id")
            .values_list("pk", flat=True)[: min(next_unassigned, MAX_TARGETS)]
        )
    raise AssignmentError("name the panoramas or ask for the next N unassigned")


def assign(
    project: Project,
    panorama_ids: list[int],
    users: list,
    mode: str = "add",
    distribute: bool = False,
) -> dict:
    """Apply the assignment; returns {"panoramas": n, "assignments": {username: count}}."""
    if mode not in MODES:
        raise AssignmentError(f"mode must be one of {', '.join(MODES)}")
    if not users and mode != "replace":
        raise AssignmentError("choose at least one user")
    through = Panorama.assignees.through
    counts = {u.username: 0 for u in users}
    with transaction.atomic():
        if mode == "replace":
            through.objects.filter(panorama_id__in=panorama_ids).delete()
        if mode == "remove":
            through.objects.filter(
                panorama_id__in=panorama_ids, user_id__in=[u.pk for u in users]
            ).delete()
            for u in users:
                counts[u.username] = len(panorama_ids)
        else:
            pairs = []
            for k, pid in enumerate(panorama_ids):
                chosen = [users[k % len(users)]] if distribute and users else users
                for u in chosen:
                    pairs.append((pid, u.pk))
                    counts[u.username] += 1
            existing = set(
                through.objects.filter(panorama_id__in=panorama_ids).values_list(
                    "panorama_id", "user_id"
                )
            )
            through.objects.bulk_create(
                [through(panorama_id=p, user_id=u) for p, u in pairs if (p, u) not in existing],
                batch_size=1000,
            )
    return {"panoramas": len(panorama_ids), "mode": mode, "assignments": counts}
