"""A guest's serial console through libvirt's stream API, bridged to an asyncio loop.

libvirt calls back on its event thread when the stream is readable; the bytes are handed to the
asyncio loop with call_soon_threadsafe. Only one session may hold a console: opening it again
fails with ConsoleBusy unless `take_over` forces the other session off.
"""

import contextlib
import time

import libvirt

from .connection import get_connection, translated_errors
from .errors import ConsoleBusy
from .guests import _lookup

_EVENTS = libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP


class SerialConsole:
    def __init__(self, spec, uuid, *, loop, on_data, on_closed, take_over=False):
        """Open the console; `on_data(bytes)` and `on_closed()` are called on `loop`."""
        self._loop, self._on_data, self._on_closed = loop, on_data, on_closed
        self._closed = False
        flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if take_over else libvirt.VIR_DOMAIN_CONSOLE_SAFE
        with translated_errors(spec):
            conn = get_connection(spec)
            domain = _lookup(conn, uuid)
            self._stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            try:
                domain.openConsole(None, self._stream, flags)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED and "console" in str(exc).lower():
                    raise ConsoleBusy("Another session has this serial console open.") from None
                raise
            self._stream.eventAddCallback(_EVENTS, self._on_event, None)

    def _on_event(self, stream, events, _opaque):  # libvirt's event thread
        if events & libvirt.VIR_STREAM_EVENT_READABLE:
            try:
                data = stream.recv(65536)
            except libvirt.libvirtError:
                data = b""
            if data == -2:  # would block: nothing to read after all
                return
            if data:
                self._deliver(self._on_data, data)
                return
        self._finish()

    def _deliver(self, callback, *args):
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening any more
            self._loop.call_soon_threadsafe(callback, *args)

    def _finish(self):
        if not self._closed:
            self._closed = True
            with contextlib.suppress(libvirt.libvirtError):
                self._stream.eventRemoveCallback()
            self._deliver(self._on_closed)

    def send(self, data, patience_s=2.0):
        """Send keystrokes, waiting while the console cannot take them yet (a long paste); what it
        still has not taken after `patience_s` is dropped rather than block the session."""
        deadline = time.monotonic() + patience_s
        with contextlib.suppress(libvirt.libvirtError):
            while data and not self._closed:
                sent = self._stream.send(data)
                if sent == -2:  # would block
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.01)
                    continue
                data = data[sent:]

    def close(self):
        already = self._closed
        self._closed = True
        with contextlib.suppress(libvirt.libvirtError):
            if not already:
                self._stream.eventRemoveCallback()
            self._stream.abort()
