"""Active annotation time: heartbeats from the workspace, added up per user, panorama and day.

The workspace counts a second as active while its tab has focus and the user gave input
(mouse, keys, wheel) in the last ``IDLE_SECONDS``; it reports what it counted every
``BEAT_SECONDS`` and when the page is left. The server trusts a beat only up to the
wall-clock time since the same user's previous beat on any panorama (plus a little slack
for network jitter), so no client can claim more time than has passed.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from .models import ActiveTime, Panorama

#: Input older than this stops the clock (the workspace uses the same figure).
IDLE_SECONDS = 60
#: How often the workspace reports.
BEAT_SECONDS = 30
#: Most seconds one beat may report.
MAX_BEAT_SECONDS = 300.0
#: Slack added to the wall-clock bound (requests in flight, clock steps).
SLACK_SECONDS = 5.0


def record(user, panorama: Panorama, seconds: float) -> float:
    """Add a beat of ``seconds`` (0 < s ≤ MAX_BEAT_SECONDS); returns the seconds counted
    (0 when the panorama was deleted meanwhile: the beat of a closing page can arrive late)."""
    try:
        return _record(user, panorama, seconds)
    except IntegrityError:
        return 0.0


def _record(user, panorama: Panorama, seconds: float) -> float:
    now = timezone.now()
    day = timezone.localdate(now)
    with transaction.atomic():
        row = (
            ActiveTime.objects.select_for_update()
            .filter(user=user, panorama=panorama, day=day)
            .first()
        )
        # bounded by the user's previous beat on any panorama: only one tab has focus at a
        # time, so a user's active time on all panoramas together cannot outrun the clock
        last = (
            ActiveTime.objects.filter(user=user)
            .order_by("-last_beat")
            .values_list("last_beat", flat=True)
            .first()
        )
        bound = MAX_BEAT_SECONDS
        if last is not None:
            bound = min(bound, max(0.0, (now - last).total_seconds()) + SLACK_SECONDS)
        counted = float(min(seconds, bound))
        if row is None:
            ActiveTime.objects.create(
                user=user, panorama=panorama, day=day, seconds=counted, last_beat=now
            )
        else:
            row.seconds += counted
            row.last_beat = now
            row.save(update_fields=["seconds", "last_beat"])
    return counted


def seconds_by_panorama(panorama_ids) -> dict[int, float]:
    """Total active seconds of each panorama (all users)."""
    rows = (
        ActiveTime.objects.filter(panorama_id__in=panorama_ids)
        .values("panorama_id")
        .annotate(s=Sum("seconds"))
    )
    return {r["panorama_id"]: float(r["s"]) for r in rows}


def per_user(panorama_id: int) -> dict[str, float]:
    """Active seconds on one panorama by username."""
    rows = (
        ActiveTime.objects.filter(panorama_id=panorama_id)
        .values("user__username")
        .annotate(s=Sum("seconds"))
        .order_by("user__username")
    )
    return {r["user__username"]: round(float(r["s"]), 1) for r in rows}


def by_panorama(project_id: int) -> dict[int, dict[str, float]]:
    """Active seconds of every panorama of a project by username (one query, for exports)."""
    out: dict[int, dict[str, float]] = {}
    rows = (
        ActiveTime.objects.filter(panorama__project_id=project_id)
        .values("panorama_id", "user__username")
        .annotate(s=Sum("seconds"))
    )
    for r in rows:
        out.setdefault(r["panorama_id"], {})[r["user__username"]] = round(float(r["s"]), 1)
    return out


def recent_days(project_id: int, days: int = 30) -> list[dict]:
    """Active seconds per day over the last ``days`` days (every day listed, zeros too)."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = (
        ActiveTime.objects.filter(panorama__project_id=project_id, day__gte=start)
        .values("day")
        .annotate(s=Sum("seconds"))
    )
    by_day = {r["day"]: float(r["s"]) for r in rows}
    return [
        {
            "day": (start + timedelta(days=k)).isoformat(),
            "seconds": by_day.get(start + timedelta(days=k), 0.0),
        }
        for k in range(days)
    ]
