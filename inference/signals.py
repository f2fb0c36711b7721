"""Queue the interactive thumbnail job when a panorama is uploaded."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from annotations.signals import panorama_uploaded

logger = logging.getLogger(__name__)


@receiver(panorama_uploaded, dispatch_uid="inference.thumbnail_on_upload")
def queue_thumbnail(sender, panorama, **kwargs) -> None:
    """Submit the 'thumbnail' job (interactive queue); never fails the upload."""
    from .services import DuplicateJob, submit_job

    try:
        submit_job("thumbnail", requester=None, project=panorama.project, panoramas=[panorama])
    except DuplicateJob:
        pass
    except Exception:  # the upload succeeded; a missing thumbnail is re-creatable
        logger.exception("could not queue the thumbnail job of panorama %s", panorama.pk)
