"""Behaviours that need a guest with an OS, on the tiny Linux guest (tiny_linux/) under TCG."""

import re
import sys
import time
from pathlib import Path

import pytest
from websockets.sync.client import unix_connect

from tests.conftest import UserFactory
from webvirt.consoles import tickets
from webvirt.core.actions import perform
from webvirt.guests.inventory import refresh_guest
from webvirt.guests.watcher import HostWatcher
from webvirt.storage.inventory import refresh_storage

from ..consoles.conftest import session_cookie, ticket_for
from .tiny_linux.guest import NAME, virsh

pytestmark = pytest.mark.libvirtd

FLOOD_LINES = 100_000  # about 690 KB on the wire: more than every buffer between guest and browser
IN_FLIGHT_BOUND = 256 * 1024


def resident_bytes(pid):
    """Resident memory of a process and its children (the serial relay is the web server's child)."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    children = [int(child) for task in tasks for child in (task / "children").read_text().split()]
    return sum(int(Path(f"/proc/{process}/statm").read_text().split()[1]) * 4096 for process in [pid, *children])


class SlowBrowser:
    """A serial console client over the web server's unix socket that reads only when told to."""

    def __init__(self, socket_path, guest, user):
        self.socket = unix_connect(
            str(socket_path),
            f"ws://localhost/ws/serial/{guest.pk}/",
            origin="http://localhost",
            additional_headers={"Cookie": f"sessionid={session_cookie(user)}"},
            subprotocols=["binary", tickets.PROTOCOL_PREFIX + ticket_for(user, guest, kind="serial")],
            compression=None,
            max_size=None,
        )
        self.received = bytearray()

    def read_until(self, marker, timeout=60):
        deadline = time.monotonic() + timeout
        while marker not in self.received:
            self.received.extend(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))

    def flood(self):
        return self.received[self.received.index(b"FLOOD-START\r\n") :]


def refreshed_nic(guest):
    refresh_guest(guest)
    guest.refresh_from_db()
    return guest.nics.get()


def test_the_agent_reports_the_guest_address_on_its_row_and_its_page(admin_client, linux_guest, tiny_linux):
    nic, deadline = refreshed_nic(linux_guest), time.monotonic() + 20
    while nic.address_source != "agent":  # libvirt sees the agent a moment after init started it
        assert time.monotonic() < deadline, f"no address from the agent: {nic.addresses} ({nic.address_source})"
        time.sleep(0.5)
        nic = refreshed_nic(linux_guest)
    assert tiny_linux.address in nic.addresses and linux_guest.agent_connected
    page = admin_client.get(linux_guest.get_absolute_url()).content.decode()
    assert f"<code>{tiny_linux.address}</code>" in page and "from the guest agent" in page


@pytest.mark.e2e
def test_a_serial_flood_is_held_back_by_a_slow_reader_and_loses_nothing(start_app, linux_guest, tiny_linux, tmp_path):
    """The guest floods its serial port; while the browser does not read, the guest is held back
    with a bounded amount in flight and the server's memory stays put; when it reads again,
    every line arrives in order. The web server listens on a unix socket, as behind nginx: over
    loopback TCP the kernel would take megabytes for the browser before anything had to wait."""
    socket_path = tmp_path / "web.sock"
    uvicorn = Path(sys.executable).parent / "uvicorn"
    # One malloc arena: a thread the server starts meanwhile (its executor grows under load) would
    # otherwise show as megabytes of growth that have nothing to do with the flood.
    environment = start_app.environment() | {"MALLOC_ARENA_MAX": "1"}
    web = start_app.processes.start("web", [uvicorn, "webvirt.asgi:application", "--uds", socket_path], environment)
    for _ in range(100):
        if socket_path.exists():
            break
        time.sleep(0.1)
    browser = SlowBrowser(socket_path, linux_guest, UserFactory(username="flood-admin", is_staff=True))

    def written():
        """Flood bytes the guest has written so far (QEMU logs its serial port as it writes it)."""
        log = tiny_linux.serial_log.read_bytes()
        return len(log) - log.index(b"FLOOD-START\r\n") if b"FLOOD-START\r\n" in log else 0

    def wait_until_held_back():
        """The browser reads nothing: the guest must stop within a bounded distance of it."""
        samples, deadline = [written()], time.monotonic() + 30
        while len(samples) < 6 or samples[-1] != samples[-6]:  # nothing written for 2.5 s
            assert time.monotonic() < deadline, f"the guest was never held back: {samples}"
            time.sleep(0.5)
            samples.append(written())
            in_flight = samples[-1] - len(browser.flood())
            assert in_flight <= IN_FLIGHT_BOUND, f"{in_flight} bytes between the guest and the browser"
        assert b"FLOOD-END" not in tiny_linux.serial_log.read_bytes(), "the guest wrote its whole flood"
        return resident_bytes(web.pid)

    time.sleep(2)  # QEMU notices a new reader of its pty within a second; until then it drops output
    # The quotes keep the echoed command line from matching the markers it prints.
    browser.socket.send(f"echo FLOOD-''START; seq 1 {FLOOD_LINES}; echo FLOOD-''END\r".encode())
    # Held back three times: the first stretch warms the server up (its executor's threads, the
    # allocator's pools, more of them on a loaded machine); the last must not rise above them.
    stops = []
    for line in (1000, 30000, 60000):
        browser.read_until(f"\r\n{line}\r\n".encode())
        stops.append(wait_until_held_back())
    print(f"resident memory at each stop: {stops} bytes")
    # Resident memory swings by megabytes both ways as the allocator returns and takes pages (seen
    # in CI: 167.9, 165.6, 168.0 MB); growth with the flood means rising past every earlier stop.
    assert stops[2] - max(stops[:2]) < 1024 * 1024, "the server's memory grew with the flood"

    browser.read_until(b"FLOOD-END\r\n", timeout=120)
    browser.socket.close()
    flood = browser.flood()[: browser.flood().index(b"FLOOD-END\r\n")].decode()
    assert [int(line) for line in re.findall(r"^(\d+)\r$", flood, re.MULTILINE)] == list(range(1, FLOOD_LINES + 1))


def test_hot_unplug_completes_and_the_volume_goes_or_stays_as_asked(change, linux_guest):
    refresh_storage(linux_guest.host)
    pool = linux_guest.host.pools.get(name=NAME)
    for _ in range(2):
        change(linux_guest, "disk_add", {"pool": pool.pk, "size_gib": "0.01", "format": "raw"})
    removed, kept = (linux_guest.disks.get(target=target).source for target in ("vda", "vdb"))

    operation = change(linux_guest, "disk_detach", {"target": "vda", "delete_volume": "on"})
    assert operation.message == f"Detached vda. Deleted volume {removed}."
    operation = change(linux_guest, "disk_detach", {"target": "vdb"})
    assert operation.message == f"Detached vdb ({kept} kept)."

    assert not Path(removed).exists() and Path(kept).exists()
    assert not linux_guest.disks.exists()
    for xml in (virsh("dumpxml", NAME).stdout, virsh("dumpxml", "--inactive", NAME).stdout):
        assert "<disk" not in xml  # gone from the running guest and from its definition
    Path(kept).unlink()


def test_freeze_and_thaw_a_mounted_file_system(admin_client, change, linux_guest, tiny_linux):
    refresh_storage(linux_guest.host)
    pool = linux_guest.host.pools.get(name=NAME)
    change(linux_guest, "disk_add", {"pool": pool.pk, "size_gib": "0.01", "format": "raw"})
    # The guest names the hot-plugged disk vda; it appears within a moment.
    wait_for_disk = "for _ in $(seq 50); do [ -b /dev/vda ] && break; sleep 0.1; done"
    status, output = tiny_linux.run("/bin/sh", "-c", f"{wait_for_disk}; mke2fs /dev/vda && mount /dev/vda /mnt")
    assert status == 0, output
    try:
        operation = change(linux_guest, "fs_freeze")
        assert operation.message.startswith("1 file system frozen.")
        assert tiny_linux.agent("guest-fsfreeze-status") == "frozen"
        page = admin_client.get(linux_guest.get_absolute_url()).content.decode()
        assert "<dt>File systems</dt><dd><strong>frozen</strong>" in page

        operation = change(linux_guest, "fs_thaw")
        assert operation.message == "1 file system thawed."
        assert tiny_linux.agent("guest-fsfreeze-status") == "thawed" and linux_guest.filesystems_frozen is False
    finally:
        virsh("domfsthaw", NAME, check=False)
        tiny_linux.run("/bin/umount", "/mnt")
    change(linux_guest, "disk_detach", {"target": "vda", "delete_volume": "on"})


def test_without_its_agent_the_dhcp_lease_gives_the_address(admin_client, linux_guest, tiny_linux):
    """The watcher hears the agent go and re-reads the guest: no resync needed."""
    nic = refreshed_nic(linux_guest)
    assert nic.address_source == "agent"
    watcher = HostWatcher()
    try:
        watcher.step(wait_s=0)
        # The agent runs this and ends (no answer to wait for); the next test needs no agent, and boots anew.
        tiny_linux.agent("guest-exec", {"path": "/bin/sh", "arg": ["-c", "killall qemu-ga"]})
        deadline = time.monotonic() + 20
        while nic.address_source != "lease" or linux_guest.agent_connected:
            assert time.monotonic() < deadline, f"no address from the lease: {nic.addresses} ({nic.address_source})"
            watcher.step(wait_s=0.2)
            linux_guest.refresh_from_db()
            nic = linux_guest.nics.get()
    finally:
        watcher.stop()
    assert nic.addresses == [tiny_linux.address]
    page = admin_client.get(linux_guest.get_absolute_url()).content.decode()
    assert "from the DHCP lease" in page and "<dt>Guest agent</dt><dd>not connected</dd>" in page


def test_acpi_shutdown_succeeds_and_the_row_ends_shut_off(
    admin, django_capture_on_commit_callbacks, linux_guest, tiny_linux
):
    """The power button, not the guest agent (which also answers here), shuts the guest down."""
    with django_capture_on_commit_callbacks(execute=True):
        operation = perform("guest.shutdown", actor=admin, target=linux_guest)
    operation.refresh_from_db()
    linux_guest.refresh_from_db()
    assert (operation.status, operation.message) == ("succeeded", "Shut down.")
    assert linux_guest.state == "shutoff" and virsh("domstate", NAME).stdout.strip() == "shut off"
    console = tiny_linux.console_text()
    assert "tiny: power button pressed" in console and "guest agent" not in console
