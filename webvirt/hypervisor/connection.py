"""Connections to libvirt hosts: opened with a deadline, kept alive, reused per process.

A host that does not answer must never hang a worker: remote transports are probed with a TCP
connect first, the open itself runs under a deadline, and libvirt keepalive (which needs an event
loop thread) drops a connection whose peer stops answering, so a call in flight fails instead of
waiting forever. Connections are cached per process and per spec; the test driver keeps its state
per connection, so reuse also keeps that state consistent within a process.
"""

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import libvirt

from .errors import GuestNotFound, HostUnreachable, HypervisorError, InvalidState, plain_words, translated
from .uri import DEFAULT_PORTS, build_uri
from .words import _

KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3

libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # errors arrive as exceptions instead


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything needed to reach one host; secrets are plain here and never logged."""

    transport: str
    hostname: str = ""
    port: int | None = None
    username: str = ""
    test_path: str = ""
    password: str = ""
    ssh_private_key: str = ""
    ssh_known_hosts: str = ""
    ssh_verify_host_key: bool = True
    tls_ca_cert: str = ""
    tls_client_cert: str = ""
    tls_client_key: str = ""
    # Seconds before the host counts as unreachable: the probe, the open and thus every call.
    timeout: float = 10.0

    @property
    def display_uri(self):
        """The URI without any parameters: safe to show on a page or in a log."""
        return build_uri(
            self.transport, hostname=self.hostname, port=self.port, username=self.username, test_path=self.test_path
        )

    def __repr__(self):
        return f"ConnectionSpec({self.display_uri})"


class _Process:
    """Per-process state; reset after fork (Celery's prefork children)."""

    def __init__(self):
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.connections = {}
        self.open_locks = {}
        self.stuck_opens = {}  # spec -> the thread of an open that missed its deadline
        self.event_loop_started = False


_state = _Process()


def _process():
    global _state
    if _state.pid != os.getpid():
        _state = _Process()
    return _state


def _ensure_event_loop(state):
    """Keepalive needs libvirt's event loop running in this process."""
    with state.lock:
        if state.event_loop_started:
            return
        with contextlib.suppress(libvirt.libvirtError):
            libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        state.event_loop_started = True


def _probe_tcp(spec):
    port = spec.port or DEFAULT_PORTS[spec.transport]
    try:
        socket.create_connection((spec.hostname, port), timeout=spec.timeout).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise HostUnreachable(
            _("Cannot reach %(host)s:%(port)s: %(reason)s.") % {"host": spec.hostname, "port": port, "reason": reason}
        ) from None


def _write_private(directory, name, text):
    path = Path(directory) / name
    path.write_text(text if text.endswith("\n") else text + "\n")
    path.chmod(0o600)
    return str(path)


def _uri_with_files(spec, directory):
    """Write key material into a private directory and name it in the URI parameters."""
    params = {}
    if spec.transport == "ssh":
        params["sshauth"] = "privkey"
        if spec.ssh_private_key:
            params["keyfile"] = _write_private(directory, "id_key", spec.ssh_private_key)
        if spec.ssh_known_hosts:
            params["known_hosts"] = _write_private(directory, "known_hosts", spec.ssh_known_hosts)
        if not spec.ssh_verify_host_key:
            params["known_hosts_verify"] = "ignore"
    elif spec.transport == "tls" and spec.tls_ca_cert:
        _write_private(directory, "cacert.pem", spec.tls_ca_cert)
        _write_private(directory, "clientcert.pem", spec.tls_client_cert)
        _write_private(directory, "clientkey.pem", spec.tls_client_key)
        params["pkipath"] = directory
    return build_uri(
        spec.transport,
        hostname=spec.hostname,
        port=spec.port,
        username=spec.username,
        test_path=spec.test_path,
        params=params,
    )


def _open(spec, state):
    timeout = spec.timeout
    stuck = state.stuck_opens.get(spec)
    if stuck is not None and stuck.is_alive():
        # libvirt cannot cancel an open: one per host may hang, not one more per resync.
        raise HostUnreachable(
            _("%(uri)s did not answer within %(timeout)s s: an earlier attempt still waits for it.")
            % {"uri": spec.display_uri, "timeout": f"{timeout:g}"}
        )
    if spec.transport in DEFAULT_PORTS:
        _probe_tcp(spec)

    def answer_credentials(credentials, _data):
        for credential in credentials:
            if credential[0] == libvirt.VIR_CRED_AUTHNAME:
                credential[4] = spec.username
            elif credential[0] == libvirt.VIR_CRED_PASSPHRASE:
                credential[4] = spec.password
        return 0

    auth = [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], answer_credentials, None]
    outcome = {}
    directory = tempfile.mkdtemp(prefix="webvirt-conn-")
    abandoned = threading.Event()

    def open_in_thread():
        try:
            conn = libvirt.openAuth(_uri_with_files(spec, directory), auth, 0)
        except libvirt.libvirtError as exc:
            outcome["error"] = exc
            return
        if abandoned.is_set():
            with contextlib.suppress(libvirt.libvirtError):
                conn.close()
        else:
            outcome["conn"] = conn

    opener = threading.Thread(target=open_in_thread, name="libvirt-open", daemon=True)
    opener.start()
    opener.join(timeout)
    # ssh and the TLS library read their files while opening; nothing needs them afterwards.
    if opener.is_alive():
        abandoned.set()
        state.stuck_opens[spec] = opener
        threading.Thread(target=lambda: (opener.join(), shutil.rmtree(directory, True)), daemon=True).start()
        raise HostUnreachable(
            _("%(uri)s did not answer within %(timeout)s s.") % {"uri": spec.display_uri, "timeout": f"{timeout:g}"}
        )
    shutil.rmtree(directory, ignore_errors=True)
    if "error" in outcome:
        error = outcome["error"]
        raw = error.get_error_message() or str(error)
        # Host pages show this with no "Details" to open, so libvirt's text follows the advice.
        words = plain_words(error.get_error_code(), raw)
        if words:
            message = _("Cannot connect to %(uri)s: %(advice)s libvirt said: %(detail)s")
        else:
            message = _("Cannot connect to %(uri)s: %(detail)s")
        raise HostUnreachable(message % {"uri": spec.display_uri, "advice": words, "detail": raw})
    conn = outcome["conn"]
    if spec.transport != "test":
        with contextlib.suppress(libvirt.libvirtError):
            conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
    return conn


def get_connection(spec):
    """Return a live connection for `spec`, reusing this process's cached one when it is alive."""
    state = _process()
    _ensure_event_loop(state)
    with state.lock:
        open_lock = state.open_locks.setdefault(spec, threading.Lock())
    with open_lock:
        conn = state.connections.get(spec)
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError:
                pass
            forget_connection(spec)
        conn = _open(spec, state)
        state.connections[spec] = conn
        return conn


def open_without_events(spec):
    """A private connection in a process that never started libvirt's event loop (the serial
    relay): without it, libvirt reads the connection only while a call waits for an answer."""
    return _open(spec, _process())


def forget_connection(spec):
    """Drop a cached connection (after a transport error, or when a host's settings change)."""
    conn = _process().connections.pop(spec, None)
    if conn is not None:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


_TRANSPORT_ERRORS = {libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_AUTH_FAILED}
# A system error is the connection's only when it comes from the RPC layer ("Cannot recv data");
# elsewhere it is the host's own (a missing binary, a full disk) and retrying will not help.
_TRANSPORT_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}
_NOT_FOUND_ERRORS = {libvirt.VIR_ERR_NO_DOMAIN}
_STATE_ERRORS = {libvirt.VIR_ERR_OPERATION_INVALID}


@contextlib.contextmanager
def translated_errors(spec):
    """Turn libvirt exceptions into our typed errors; a transport error also drops the connection."""
    try:
        yield
    except libvirt.libvirtError as exc:
        code = exc.get_error_code()
        if code in _NOT_FOUND_ERRORS:
            raise translated(GuestNotFound, exc) from None
        if code in _STATE_ERRORS:
            raise translated(InvalidState, exc) from None
        if (
            code in _TRANSPORT_ERRORS
            or (code == libvirt.VIR_ERR_SYSTEM_ERROR and exc.get_error_domain() in _TRANSPORT_DOMAINS)
            or _connection_died(spec)  # e.g. closed by keepalive, reported as an internal error
        ):
            forget_connection(spec)
            raise HostUnreachable(
                _("Lost %(uri)s: %(detail)s") % {"uri": spec.display_uri, "detail": exc.get_error_message() or exc}
            ) from None
        raise translated(HypervisorError, exc) from None


def _connection_died(spec):
    conn = _process().connections.get(spec)
    try:
        return conn is not None and not conn.isAlive()
    except libvirt.libvirtError:
        return True


@contextlib.contextmanager
def session(spec):
    """Use a host's connection with errors translated: `with session(spec) as conn: ...`."""
    with translated_errors(spec):
        conn = get_connection(spec)
        yield conn


def still_there(objects, read, gone_code):
    """`read` of each listed object, leaving out those removed since the listing (libvirt error
    `gone_code`): a pool or network deleted during a resync is gone, not a failed resync."""
    found = []
    for obj in objects:
        try:
            found.append(read(obj))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != gone_code:
                raise
    return found
