"""Remove resumable uploads nobody finished (and their stored chunks)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand

from annotations.chunked import clean_stale


class Command(BaseCommand):
    help = "Delete unfinished chunked uploads not touched for --hours (default 24) hours."

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0)

    def handle(self, *args, hours: float, **options):
        removed = clean_stale(timedelta(hours=hours))
        self.stdout.write(f"removed {removed} unfinished upload(s)")
