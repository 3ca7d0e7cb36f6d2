"""Lifecycle events: libvirt tells us when a guest starts, stops, is defined or undefined, when
its guest agent connects or goes, and when a storage pool or a virtual network changes.

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
    """A registration of `on_event(kind, uuid, event_name)` for everything on one host that the
    inventory keeps: each guest's lifecycle and its guest agent coming or going (which changes
    where its addresses come from), kind "guest"; each storage pool's lifecycle and refreshes,
    kind "pool"; each virtual network's lifecycle, kind "network"."""

    def __init__(self, spec, on_event):
        self.spec = spec
        self._callback_ids, self._pool_callback_ids, self._network_callback_ids = [], [], []
        with translated_errors(spec):
            self._conn = get_connection(spec)
            try:
                self._register(on_event)
            except libvirt.libvirtError:
                self.stop()  # what was registered before the failure goes too
                raise

    def _register(self, on_event):
        """One registration at a time, each kept as it is made, so a failure leaves none behind."""
        conn = self._conn
        domain_events = (
            (
                libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                lambda _c, domain, event, _detail, _o: on_event("guest", domain.UUIDString(), EVENTS.get(event, "?")),
            ),
            (
                libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                lambda _c, domain, state, _reason, _o: on_event(
                    "guest", domain.UUIDString(), AGENT_EVENTS.get(state, "agent")
                ),
            ),
        )
        for event_id, callback in domain_events:
            self._callback_ids.append(conn.domainEventRegisterAny(None, event_id, callback, None))
        pool_events = (
            (
                libvirt.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                lambda _c, pool, _event, _detail, _o: on_event("pool", pool.UUIDString(), "lifecycle"),
            ),
            (
                libvirt.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
                lambda _c, pool, _o: on_event("pool", pool.UUIDString(), "refreshed"),
            ),
        )
        for event_id, callback in pool_events:
            self._pool_callback_ids.append(conn.storagePoolEventRegisterAny(None, event_id, callback, None))
        self._network_callback_ids.append(
            conn.networkEventRegisterAny(
                None,
                libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                lambda _c, network, _event, _detail, _o: on_event("network", network.UUIDString(), "lifecycle"),
                None,
            )
        )

    def is_alive(self):
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    def stop(self):
        for callback_id in self._callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.domainEventDeregisterAny(callback_id)
        for callback_id in self._pool_callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.storagePoolEventDeregisterAny(callback_id)
        for callback_id in self._network_callback_ids:
            with contextlib.suppress(libvirt.libvirtError):
                self._conn.networkEventDeregisterAny(callback_id)
