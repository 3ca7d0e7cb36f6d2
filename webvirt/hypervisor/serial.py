"""A guest's serial console, relayed by a child process through a socket pair.

Why a process: libvirt's client library reads every packet off a connection as soon as it
arrives (its event loop does, whatever the stream's own callbacks say) and queues stream data
without limit, so a process that runs that loop cannot hold a console back: a guest writing
faster than the browser reads would grow its memory for as long as it writes. The relay runs
without libvirt's event loop, so libvirt reads its connection only while the relay waits in
recv(), and the relay calls recv() only once its last bytes went into the socket pair. A slow
browser therefore holds back the socket pair, the relay, libvirtd, QEMU and at last the guest's
serial port: every buffer on the way is bounded and no byte is dropped.

Only one session may hold a console: opening it again fails with ConsoleBusy unless `take_over`
forces the other session off.
"""

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import libvirt

from .connection import ConnectionSpec, open_without_events, translated_errors
from .errors import ConsoleBusy, HostUnreachable, HypervisorError
from .guests import _lookup
from .words import _

CHUNK = 64 * 1024
AHEAD = 16 * 1024
RELAY_START_S = 5.0  # on top of the connection timeout: the relay's own start
# The relay imports this package on its own (as `hypervisor`, looked for last on its path): it
# needs nothing else of webvirt, whose package imports Celery and would double the relay's memory.
_PACKAGES = str(Path(__file__).resolve().parents[1])
_RELAY = "import sys; sys.path.append(sys.argv[1]); from hypervisor.serial import relay; relay()"
_ERRORS = {"busy": ConsoleBusy, "unreachable": HostUnreachable, "error": HypervisorError}


class SerialConsole:
    """`SerialConsole(spec, uuid, take_over=...)` opens the console (blocking: call it from a
    thread); then `socket` carries its bytes both ways, and `close()` ends it."""

    def __init__(self, spec, uuid, *, take_over=False):
        self.socket, relay_end = socket.socketpair()
        # What the relay may send ahead of the reader (so also the size of what the reader takes
        # at a time): a serial console never needs more.
        relay_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, AHEAD)
        with relay_end:
            self._relay = subprocess.Popen(
                [sys.executable, "-I", "-c", _RELAY, _PACKAGES], stdin=relay_end, stdout=relay_end
            )
        request = {"spec": dataclasses.asdict(spec), "uuid": uuid, "take_over": take_over}
        try:
            self.socket.sendall(json.dumps(request).encode() + b"\n")
            self.socket.settimeout(spec.timeout + RELAY_START_S)
            answer = json.loads(_read_line(self.socket) or '{"status": "error", "message": "The relay ended."}')
            self.socket.settimeout(None)
        except (OSError, ValueError) as exc:
            self.close()
            raise HostUnreachable(
                _("The serial console did not open: %(reason)s.") % {"reason": exc or _("timed out")}
            ) from None
        if answer["status"] != "ok":
            self.close()
            raise _ERRORS[answer["status"]](answer.get("message", _("Another session has this serial console open.")))

    def close(self):
        """End the relay (libvirt frees the console when its connection closes) and its socket."""
        self.socket.close()
        if self._relay.poll() is None:
            self._relay.terminate()
        try:
            self._relay.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._relay.kill()
            self._relay.wait()


def _read_line(sock):
    """One line, read a byte at a time so that nothing after it is taken from the socket."""
    line = bytearray()
    while (byte := sock.recv(1)) and byte != b"\n":
        line += byte
    return line.decode()


def _open_console(spec, uuid, take_over):
    conn = open_without_events(spec)
    stream = conn.newStream(0)  # blocking: recv() waits, and only then does libvirt read
    flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if take_over else libvirt.VIR_DOMAIN_CONSOLE_SAFE
    try:
        _lookup(conn, uuid).openConsole(None, stream, flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED and "console" in str(exc).lower():
            raise ConsoleBusy(_("Another session has this serial console open.")) from None
        raise
    return stream


def _keys(channel, stream):
    """Browser to guest; when the web process closes its end (or dies), the relay ends."""
    with contextlib.suppress(OSError, libvirt.libvirtError):
        while data := channel.recv(CHUNK):
            while data:
                data = data[stream.send(data) :]
    os._exit(0)


def relay():
    """The child process: read the request, open the console, answer, then copy bytes both ways."""
    channel = socket.socket(fileno=sys.stdin.fileno())
    request = json.loads(_read_line(channel))
    spec = ConnectionSpec(**request["spec"])
    stream = None
    try:
        with translated_errors(spec):
            stream = _open_console(spec, request["uuid"], request["take_over"])
        answer = {"status": "ok"}
    except ConsoleBusy as exc:
        answer = {"status": "busy", "message": str(exc)}
    except HostUnreachable as exc:
        answer = {"status": "unreachable", "message": str(exc)}
    except HypervisorError as exc:
        answer = {"status": "error", "message": str(exc)}
    channel.sendall(json.dumps(answer).encode() + b"\n")
    if stream is None:
        return
    threading.Thread(target=_keys, args=(channel, stream), daemon=True).start()
    # Guest to browser. It ends when the guest stops or another session takes the console over.
    with contextlib.suppress(OSError, libvirt.libvirtError):
        while data := stream.recv(CHUNK):
            channel.sendall(data)
