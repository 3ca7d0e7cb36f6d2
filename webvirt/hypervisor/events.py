"""Lifecycle events: libvirt tells us when a guest starts, stops, is defined or undefined.

Callbacks run on libvirt's event loop thread; keep them short (the watcher only queues them).
"""

import contextlib

import libvirt

from .connection import get_connection, translated_errors

EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_DEFINED: "defined",
    libvirt.VIR_DOMAIN_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_DOMAIN_EVENT_STARTED: "started",
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: "suspended",
    libvirt.VIR_DOMAIN_EVENT_RESUMED: "resumed",
    libvirt.VIR_DOMAIN_EVENT_STOPPED: "stopped",
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: "shutdown",
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: "pmsuspended",
    libvirt.VIR_DOMAIN_EVENT_CRASHED: "crashed",
}


class LifecycleWatch:
    """A registration of `on_event(uuid, event_name)` for every guest on one host."""

    def __init__(self, spec, on_event):
        self.spec = spec
        with translated_errors(spec):
            self._conn = get_connection(spec)
            self._callback_id = self._conn.domainEventRegisterAny(
                None,
                libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                lambda _conn, domain, event, _detail, _opaque: on_event(
                    domain.UUIDString(), EVENTS.get(event, "unknown")
                ),
                None,
            )

    def is_alive(self):
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    def stop(self):
        with contextlib.suppress(libvirt.libvirtError):
            self._conn.domainEventDeregisterAny(self._callback_id)
