"""Uploads are staged on disk, never held in memory, then streamed to their host by a worker."""

import shutil
import uuid
from pathlib import Path

from django.conf import settings


def stage(uploaded_file):
    """Move Django's temporary file into the shared upload folder; returns its new path."""
    destination = Path(settings.WEBVIRT_UPLOAD_DIR) / f"{uuid.uuid4().hex}.upload"
    shutil.move(uploaded_file.temporary_file_path(), destination)
    return destination
