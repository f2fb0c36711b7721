"""Resumable uploads of large panorama files, in chunks.

``start`` declares the file (name and size, bounded by ``LABEL360_MAX_UPLOAD_BYTES``);
each chunk names the offset it starts at, which must be exactly the bytes received so far
(a retried chunk after a lost answer gets 409 with the current offset, so the client
resumes from there and nothing is stored twice). Chunks go to the storage as separate
objects (the S3 backend cannot append), and ``complete`` joins them and hands the bytes to
:func:`annotations.uploads.store_panorama`, which validates and stores as for any upload.
Sessions left unfinished are removed by ``manage.py clean_uploads``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from .models import Panorama, Project, UploadSession
from .uploads import UploadRejected, store_panorama

#: Largest chunk accepted in one request.
MAX_CHUNK_BYTES = 8 * 1024 * 1024
#: Open sessions one user may have at once (each holds storage until completed).
MAX_OPEN_SESSIONS = 50


class ChunkError(ValueError):
    """A chunk or session request cannot be applied; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400, received: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.received = received


def start(project: Project, user, filename: str, size: int) -> UploadSession:
    limit = settings.LABEL360_MAX_UPLOAD_BYTES
    if size <= 0:
        raise ChunkError("the file is empty")
    if size > limit:
        raise ChunkError(f"file of {size} bytes exceeds the limit of {limit}")
    open_sessions = UploadSession.objects.filter(user=user, panorama__isnull=True, error="").count()
    if open_sessions >= MAX_OPEN_SESSIONS:
        raise ChunkError(
            f"you have {open_sessions} unfinished uploads; finish or cancel some first", 429
        )
    return UploadSession.objects.create(
        project=project, user=user, filename=filename[:300], size=size
    )


def append(session: UploadSession, offset: int, data: bytes) -> UploadSession:
    """Store ``data`` as the chunk starting at ``offset``; returns the updated session."""
    if not data:
        raise ChunkError("empty chunk")
    if len(data) > MAX_CHUNK_BYTES:
        raise ChunkError(f"a chunk may hold at most {MAX_CHUNK_BYTES} bytes")
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().get(pk=session.pk)
        if locked.panorama_id is not None or locked.error:
            raise ChunkError("this upload is already finished", 409, locked.received)
        if offset != locked.received:
            raise ChunkError(
                f"expected the chunk at offset {locked.received}, got {offset}",
                409,
                locked.received,
            )
        if locked.received + len(data) > locked.size:
            raise ChunkError(
                f"the chunk ends at {locked.received + len(data)}, past the declared size "
                f"{locked.size}"
            )
        name = locked.chunk_name(locked.chunks)
        if default_storage.exists(name):  # left by a request that failed after storing
            default_storage.delete(name)
        default_storage.save(name, ContentFile(data))
        locked.chunks += 1
        locked.received += len(data)
        locked.save(update_fields=["chunks", "received", "updated_at"])
    return locked


def complete(session: UploadSession) -> Panorama:
    """Join the chunks and store the panorama; raises UploadRejected (kept on the session)."""
    with transaction.atomic():
        locked = UploadSession.objects.select_for_update().get(pk=session.pk)
        if locked.panorama_id is not None:
            return locked.panorama
        if locked.error:
            raise UploadRejected(locked.error)
        if locked.received != locked.size:
            raise ChunkError(
                f"received {locked.received} of {locked.size} bytes", 409, locked.received
            )
        parts = []
        for index in range(locked.chunks):
            with default_storage.open(locked.chunk_name(index), "rb") as handle:
                parts.append(handle.read())
        data = b"".join(parts)
        del parts
        rejected: UploadRejected | None = None
        try:
            with transaction.atomic():  # a savepoint: the session row stays writable
                panorama = store_panorama(locked.project, locked.filename, data, locked.user)
        except UploadRejected as exc:
            rejected = exc
            locked.error = exc.reason
            locked.save(update_fields=["error", "updated_at"])
        else:
            locked.panorama = panorama
            locked.save(update_fields=["panorama", "updated_at"])
    _delete_chunks(locked)
    if rejected is not None:
        raise rejected
    return panorama


def abort(session: UploadSession) -> None:
    _delete_chunks(session)
    session.delete()


def _delete_chunks(session: UploadSession) -> None:
    for index in range(session.chunks):
        name = session.chunk_name(index)
        if default_storage.exists(name):
            default_storage.delete(name)


def clean_stale(max_age: timedelta = timedelta(days=1)) -> int:
    """Remove sessions not touched for ``max_age`` (and their chunks); returns how many."""
    stale = UploadSession.objects.filter(updated_at__lt=timezone.now() - max_age)
    count = 0
    for session in stale.iterator():
        abort(session)
        count += 1
    return count
