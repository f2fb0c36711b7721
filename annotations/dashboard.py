"""A project's progress in numbers: panoramas by status, per-annotator work and time, classes.

One function, :func:`project_dashboard`, answers ``GET /api/projects/ID/dashboard/`` with
aggregate queries (a handful, whatever the project's size) plus one pass over the review
events, which are needed to attribute each rejection to the submission it rejected.
"""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from .activity import recent_days
from .models import (
    ActiveTime,
    Instance,
    LabelClass,
    Membership,
    Panorama,
    PanoramaStatus,
    Project,
    ReviewAction,
    ReviewEvent,
)

DONE = (PanoramaStatus.SUBMITTED, PanoramaStatus.APPROVED)


def project_dashboard(project: Project, days: int = 30) -> dict:
    panoramas = Panorama.objects.filter(project=project)
    by_status = dict(
        panoramas.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    statuses = [
        {"status": s.value, "label": s.label, "count": by_status.get(s.value, 0)}
        for s in PanoramaStatus
    ]
    total = sum(s["count"] for s in statuses)

    instances = Instance.objects.filter(panorama__project=project)
    per_class = {
        row["label_class_id"]: row
        for row in instances.values("label_class_id").annotate(
            instances=Count("id", filter=Q(is_suggestion=False)),
            suggestions=Count("id", filter=Q(is_suggestion=True)),
            panoramas=Count("panorama_id", filter=Q(is_suggestion=False), distinct=True),
        )
    }
    classes = [
        {
            "id": c.pk,
            "name": c.name,
            "color": c.color,
            "instances": per_class.get(c.pk, {}).get("instances", 0),
            "suggestions": per_class.get(c.pk, {}).get("suggestions", 0),
            "panoramas": per_class.get(c.pk, {}).get("panoramas", 0),
        }
        for c in LabelClass.objects.filter(project=project).order_by("order", "name", "id")
    ]

    people: dict[str, dict] = {}

    def person(username: str, role: str | None = None) -> dict:
        entry = people.get(username)
        if entry is None:
            entry = people[username] = {
                "username": username,
                "role": role,
                "assigned": 0,
                "done": 0,
                "approved": 0,
                "instances": 0,
                "active_seconds": 0.0,
                "submissions": 0,
                "rejections": 0,
                "rejection_rate": None,
            }
        return entry

    for username, role in Membership.objects.filter(project=project).values_list(
        "user__username", "role"
    ):
        if role != "viewer":
            person(username, role)
    assigned = panoramas.values("assignees__username").annotate(
        assigned=Count("id", distinct=True),
        done=Count("id", filter=Q(status__in=DONE), distinct=True),
        approved=Count("id", filter=Q(status=PanoramaStatus.APPROVED), distinct=True),
    )
    for row in assigned:
        if row["assignees__username"]:
            entry = person(row["assignees__username"])
            entry.update(assigned=row["assigned"], done=row["done"], approved=row["approved"])
    made = (
        instances.filter(is_suggestion=False, created_by__isnull=False)
        .values("created_by__username")
        .annotate(n=Count("id"))
    )
    for row in made:
        person(row["created_by__username"])["instances"] = row["n"]
    active = (
        ActiveTime.objects.filter(panorama__project=project)
        .values("user__username")
        .annotate(s=Sum("seconds"))
    )
    for row in active:
        person(row["user__username"])["active_seconds"] = round(float(row["s"]), 1)

    # each rejection counts against whoever submitted the panorama last before it
    last_submitter: dict[int, str | None] = {}
    events = (
        ReviewEvent.objects.filter(panorama__project=project)
        .order_by("panorama_id", "created_at", "id")
        .values_list("panorama_id", "action", "user__username")
    )
    for panorama_id, action, username in events.iterator(chunk_size=2000):
        if action == ReviewAction.SUBMIT and username:
            last_submitter[panorama_id] = username
            person(username)["submissions"] += 1
        elif action == ReviewAction.REJECT:
            submitter = last_submitter.get(panorama_id)
            if submitter:
                person(submitter)["rejections"] += 1
    for entry in people.values():
        if entry["submissions"]:
            entry["rejection_rate"] = round(entry["rejections"] / entry["submissions"], 4)

    time_rows = (
        ActiveTime.objects.filter(panorama__project=project)
        .values("panorama_id", "panorama__status")
        .annotate(s=Sum("seconds"))
    )
    done_seconds = [float(r["s"]) for r in time_rows if r["panorama__status"] in DONE]
    total_seconds = round(sum(float(r["s"]) for r in time_rows), 1)
    return {
        "project": project.pk,
        "panoramas": total,
        "statuses": statuses,
        "done": sum(by_status.get(s, 0) for s in DONE),
        "instances": sum(c["instances"] for c in classes),
        "suggestions": sum(c["suggestions"] for c in classes),
        "classes": classes,
        "annotators": sorted(people.values(), key=lambda p: p["username"]),
        "active": {
            "total_seconds": total_seconds,
            "done_panoramas_timed": len(done_seconds),
            "mean_seconds_per_done_panorama": (
                round(sum(done_seconds) / len(done_seconds), 1) if done_seconds else None
            ),
            "done_panorama_seconds": sorted(round(s, 1) for s in done_seconds),
            "per_day": recent_days(project.pk, days),
        },
    }
