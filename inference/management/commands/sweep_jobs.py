"""manage.py sweep_jobs: one pass of the job sweep (re-queue jobs whose worker is gone,
publish jobs the broker never got). Workers and beat run the same sweep on their own; this
command is for operators, cron, and deployments without beat."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from inference.sweep import sweep


class Command(BaseCommand):
    help = "Re-queue running jobs whose worker is gone and publish unpublished jobs."

    def handle(self, *args, **options) -> None:
        report = sweep()
        for name, ids in report.as_dict().items():
            shown = ", ".join(f"#{pk}" for pk in ids[:20]) + (" …" if len(ids) > 20 else "")
            self.stdout.write(f"{name:>12}: {len(ids)}{'  ' + shown if ids else ''}")
        if report.unpublished:
            self.stderr.write(
                self.style.WARNING("the broker is unreachable: some jobs are still unpublished")
            )
