"""Keep the inventory current between resyncs by following each host's lifecycle events.

Several watcher processes share the enabled hosts. Each announces itself in Redis and holds a lease
per host it watches (core/leases.py), renewed every round; a host goes to the live watcher that
ranks highest for it (rendezvous hashing: every watcher computes the same answer, and a watcher
joining or leaving moves only its share). A watcher that dies stops renewing, so within
`LEASE_TTL_S` and one round its hosts are someone else's, caught up by a full sync.

libvirt calls our callback on its event thread; the callback only queues (host, kind, uuid), and
the main loop re-reads that guest into its row, or the host's pools or networks (a listing each:
they are few). A host whose connection drops is watched again when it comes back, after a full
resync for what was missed.

The hosts a round takes are registered and read in threads (up to CATCH_UP_THREADS at once), so a
host that hangs delays none of the others; each is written to the database here, in the main
thread, as soon as its reading arrives.
"""

import hashlib
import logging
import os
import queue
import socket
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from django.db import DatabaseError

from webvirt import hypervisor
from webvirt.core import leases
from webvirt.hosts.connections import connection_spec
from webvirt.hosts.models import Host
from webvirt.hosts.sync import read_host, record_unreachable, sync_host
from webvirt.networks.inventory import refresh_networks
from webvirt.storage.inventory import refresh_storage

from .inventory import apply_guests, mark_gone
from .models import Guest

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 5.0
LEASE_TTL_S = 15.0  # with a round of RECONCILE_EVERY_S, a dead watcher's hosts move within 20 s
CATCH_UP_THREADS = 8


def _rank(watcher, host_id):
    return hashlib.sha256(f"{watcher}/{host_id}".encode()).digest()


def _lease(host_id):
    return f"watch:host-{host_id}"


class HostWatcher:
    def __init__(self, name=None):
        self.name = leases.new_token(name or f"{socket.gethostname()}:{os.getpid()}")
        self.events = queue.Queue()
        self.held = set()  # ids of the hosts whose lease this watcher holds
        self.watches = {}  # host id -> (spec, LifecycleWatch), for held hosts whose events arrive
        self.next_reconcile = 0.0
        self.unclaimed = {}  # host id -> since when no watcher holds it though it is another's

    def reconcile(self):
        """Renew what is held and hand over what another watcher ranks higher for; take the hosts
        that rank us highest (or that nobody holds); watch held hosts that are not watched yet."""
        self._renew()
        watchers = leases.announced("watcher:")
        hosts = {host.pk: host for host in Host.objects.filter(enabled=True)}
        for host_id in sorted(self.held):
            host = hosts.get(host_id)
            if host is None or self._owner(host_id, watchers) != self.name:
                self._let_go(host_id)
            elif host_id in self.watches:
                spec, watch = self.watches[host_id]
                if connection_spec(host) != spec or not watch.is_alive():
                    watch.stop()
                    del self.watches[host_id]
        holders = leases.holders([_lease(host_id) for host_id in hosts if host_id not in self.held])
        now = time.monotonic()
        for host_id in list(self.unclaimed):
            if holders.get(_lease(host_id)) is not None:
                del self.unclaimed[host_id]
        for host_id in hosts:
            if host_id not in self.held:
                claimed = self._wants(host_id, watchers, holders, now) and leases.acquire(
                    _lease(host_id), self.name, LEASE_TTL_S
                )
                if claimed:
                    self.held.add(host_id)
        self._catch_up([host for pk, host in hosts.items() if pk in self.held and pk not in self.watches])

    def _wants(self, host_id, watchers, holders, now):
        """Its own hosts; and a host nobody has taken for two rounds (its watcher is busy or stuck)."""
        if self._owner(host_id, watchers) == self.name:
            return True
        if holders.get(_lease(host_id)) is not None:
            return False
        return now - self.unclaimed.setdefault(host_id, now) > 2 * RECONCILE_EVERY_S

    def _owner(self, host_id, watchers):
        return max(watchers, key=lambda watcher: _rank(watcher, host_id))

    def _renew(self):
        """Keep this watcher's announcement and leases alive (also between the catch-ups of a round)."""
        leases.announce(f"watcher:{self.name}", self.name, LEASE_TTL_S)
        kept = {int(name.rpartition("-")[2]) for name in leases.renew(map(_lease, self.held), self.name, LEASE_TTL_S)}
        for host_id in self.held - kept:
            log.warning("lost the lease on host %s; another watcher has it", host_id)
            self._let_go(host_id, release=False)

    def _let_go(self, host_id, release=True):
        if host_id in self.watches:
            self.watches.pop(host_id)[1].stop()
        self.held.discard(host_id)
        if release:
            leases.release(_lease(host_id), self.name)

    def _catch_up(self, hosts):
        """Watch these hosts, each caught up by a full sync: registered and read in threads, written
        here as each reading arrives; leases are renewed meanwhile (catching up takes a while)."""
        if not hosts:
            return
        with ThreadPoolExecutor(max_workers=min(CATCH_UP_THREADS, len(hosts))) as pool:
            pending = {pool.submit(self._register_and_read, connection_spec(host), host.pk): host for host in hosts}
            while pending:
                done, _ = wait(pending, timeout=RECONCILE_EVERY_S, return_when=FIRST_COMPLETED)
                for future in done:
                    self._caught_up(pending.pop(future), *future.result())
                self._renew()

    def _register_and_read(self, spec, host_id):
        """In a thread (libvirt only, no database): register for the host's events, then read it
        (registered first, so nothing that happens during the read is missed)."""
        watch = None
        try:
            watch = hypervisor.LifecycleWatch(
                spec, lambda kind, uuid, event: self.events.put((host_id, kind, uuid, event))
            )
            return spec, watch, read_host(spec), None
        except hypervisor.HypervisorError as exc:
            if watch is not None:  # the next round registers afresh: never leave this one behind
                watch.stop()
            return spec, None, None, exc

    def _caught_up(self, host, spec, watch, reading, error):
        if error is not None:
            record_unreachable(host, error)
            log.warning("cannot watch host %s: %s", host.name, error.full_text)
            return
        if host.pk not in self.held:  # its lease was lost while it was read
            watch.stop()
            return
        try:
            sync_host(host, reading)
        except DatabaseError as exc:  # the next round tries again; the other hosts go on meanwhile
            log.warning("cannot write what host %s holds: %s", host.name, exc)
            watch.stop()
            return
        self.watches[host.pk] = (spec, watch)
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
        """Stop watching and hand every host over at once (a watcher that is killed instead hands
        them over when its leases run out)."""
        for host_id in list(self.held):
            self._let_go(host_id)
        leases.release(f"watcher:{self.name}", self.name)
