"""Keep the inventory current between resyncs by following each host's lifecycle events.

One process watches every enabled host. libvirt calls our callback on its event thread; the
callback only queues (host, kind, uuid), and the main loop re-reads that guest into its row, or
the host's pools or networks (a listing each: they are few). A host whose connection drops is
watched again when it comes back, after a full resync for what was missed.
"""

import logging
import queue
import time

from webvirt import hypervisor
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import record_unreachable, sync_host
from webvirt.networks.inventory import refresh_networks
from webvirt.storage.inventory import refresh_storage

from .inventory import apply_guests, mark_gone
from .models import Guest

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 5.0


class HostWatcher:
    def __init__(self):
        self.events = queue.Queue()
        self.watches = {}  # host id -> (spec, LifecycleWatch)
        self.next_reconcile = 0.0

    def reconcile(self):
        """Watch enabled hosts that are not watched (or whose connection died); drop removed ones."""
        hosts = {host.pk: host for host in Host.objects.filter(enabled=True)}
        for host_id in list(self.watches):
            spec, watch = self.watches[host_id]
            host = hosts.get(host_id)
            if host is None or connection_spec(host) != spec or not watch.is_alive():
                watch.stop()
                del self.watches[host_id]
        for host_id, host in hosts.items():
            if host_id in self.watches:
                continue
            spec = connection_spec(host)
            watch = None
            try:
                # Registered before the catch-up sync, so nothing that happens during it is missed.
                watch = hypervisor.LifecycleWatch(
                    spec, lambda kind, uuid, event, host_id=host_id: self.events.put((host_id, kind, uuid, event))
                )
                sync_host(host)  # catch up on whatever happened while unwatched
            except hypervisor.HypervisorError as exc:
                if watch is not None:  # the next round registers afresh: never leave this one behind
                    watch.stop()
                record_unreachable(host, exc)
                log.warning("cannot watch host %s: %s", host.name, exc.full_text)
                continue
            self.watches[host_id] = (spec, watch)
            log.info("watching host %s", host.name)

    def apply(self, host_id, kind, uuid):
        host = Host.objects.filter(pk=host_id).first()
        if host is None:
            return
        if kind != "guest":
            self.refresh(host, kind)
            return
        try:
            facts = hypervisor.read_guest(connection_spec(host), uuid)
        except hypervisor.GuestNotFound:
            guest = Guest.objects.filter(host=host, uuid=uuid).first()
            if guest:
                mark_gone(guest)
            return
        except hypervisor.HypervisorError as exc:
            log.warning("cannot read guest %s on %s: %s", uuid, host.name, exc.full_text)
            return
        apply_guests(host, [facts], complete=False)

    def refresh(self, host, kind):
        try:
            (refresh_storage if kind == "pool" else refresh_networks)(host)
        except hypervisor.HypervisorError as exc:
            log.warning("cannot read the %ss of %s: %s", kind, host.name, exc)

    def step(self, wait_s=1.0):
        """Reconcile when due, then apply the events that arrive within `wait_s`."""
        if time.monotonic() >= self.next_reconcile:
            self.reconcile()
            self.next_reconcile = time.monotonic() + RECONCILE_EVERY_S
        try:
            batch = [self.events.get(timeout=wait_s)]
        except queue.Empty:
            return
        while not self.events.empty():  # what arrived meanwhile: one re-read per guest, pools or networks
            batch.append(self.events.get_nowait())
        done = set()
        for host_id, kind, uuid, event in batch:
            log.debug("host %s %s %s %s", host_id, kind, uuid, event)
            key = (host_id, kind, uuid if kind == "guest" else None)  # pools and networks are read as one listing
            if key not in done:
                done.add(key)
                self.apply(host_id, kind, uuid)

    def stop(self):
        for _spec, watch in self.watches.values():
            watch.stop()
        self.watches.clear()
