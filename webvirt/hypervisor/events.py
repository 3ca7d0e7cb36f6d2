"""Lifecycle events: libvirt tells us when a guest starts, stops, is defined or undefined, and
when its guest agent connects or goes.

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


AGENT_EVENTS = {
    libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_CONNECTED: "agent connected",
    libvirt.VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_DISCONNECTED: "agent disconnected",
}


class LifecycleWatch:
    """A registration of `on_event(uuid, event_name)` for every guest on one host: its lifecycle,
    and its guest agent coming or going (which changes where its addresses come from)."""

    def __init__(self, spec, on_event):
        self.spec = spec
        with translated_errors(spec):
            self._conn = get_connection(spec)
            self._callback_ids = [
                self._conn.domainEventRegisterAny(
                    None,
                    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                    lambda _conn, domain, event, _detail, _opaque: on_event(
                        domain.UUIDString(), EVENTS.get(event, "unknown")
                    ),
                    None,
                ),
                self._conn.domainEventRegisterAny(
                    None,
                    libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                    lambda _conn, domain, state, _reason, _opaque: on_event(
                        domain.UUIDString(), AGENT_EVENTS.get(state, "agent")
                    ),
                    None,
                ),
            ]

    def is_alive(self):
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    def stop(self):
        for callback_id in self._callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.domainEventDeregisterAny(callback_id)
