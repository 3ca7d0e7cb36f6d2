"""Files streamed to the browser from a worker thread's iterator (a volume read through libvirt)."""

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse


async def _one_at_a_time(chunks):
    """Under ASGI, Django reads a synchronous iterator whole into memory before sending it; a disk
    image must not be, so each chunk is read in a worker thread as the client takes the last one.
    A client that goes away closes the generator, which ends the iterator (libvirt's stream aborts)."""
    end = object()
    try:
        while (chunk := await sync_to_async(next, thread_sensitive=False)(chunks, end)) is not end:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=False)()


def file_response(chunks, filename):
    """An attachment named `filename` (ASCII, as webvirt's object names are) from `chunks` of bytes."""
    response = StreamingHttpResponse(_one_at_a_time(chunks), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
