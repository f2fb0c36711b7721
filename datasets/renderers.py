"""A CSV renderer for the agreement report, so ``?format=csv``, a ``.csv`` suffix and
``Accept: text/csv`` all select CSV through DRF's own content negotiation (without it DRF
answers ``?format=csv`` with 404: no renderer has that format)."""

from __future__ import annotations

import csv
import io
from typing import Any

from rest_framework.renderers import BaseRenderer

from .agreement import report_csv


class AgreementCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict) and "pairs" in data:
            return report_csv(data).encode()
        # an error body ({"detail": ...}): one key per column
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        rows = data if isinstance(data, dict) else {"detail": data}
        writer.writerow(list(rows))
        writer.writerow([str(v) for v in rows.values()])
        return buffer.getvalue().encode()
