"""The tiny Linux guest on the local libvirtd: defined once per test session, booted when a test
needs it running, and driven from the host through its serial log and its guest agent."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from lxml import etree

from webvirt import hypervisor

from .build import KERNEL_CMDLINE, READY_MARKER, REPO, build

IMAGES = Path("/var/lib/libvirt/images")
LOCAL = hypervisor.ConnectionSpec(transport="local")
BOOT_TIMEOUT_S = 90
AGENT_WAIT_S = 30
AGENT_RESTART_S = 10  # not connected this long: started again (restart_agent)
AGENT_AWAY = ("not responding", "not connected", "Timed out")  # virsh's words for an agent not there yet

# One name and MAC per checkout and test process: parallel checkouts and pytest-xdist workers do not
# collide, and dnsmasq knows the MAC again at each boot (a new MAC waits about 3 s for dnsmasq's
# ping check before its first lease).
_TAG = hashlib.sha256(f"{REPO}{os.environ.get('PYTEST_XDIST_WORKER', '')}".encode()).hexdigest()
NAME = f"webvirt-tiny-linux-{_TAG[:6]}"
MAC = f"52:54:00:{_TAG[6:8]}:{_TAG[8:10]}:{_TAG[10:12]}"


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], capture_output=True, text=True, check=check)


def remove_leftovers():
    """What an interrupted session left behind: the guest and its pool (a transient dir pool)."""
    virsh("destroy", NAME, check=False)
    virsh("undefine", NAME, check=False)
    virsh("pool-destroy", NAME, check=False)
    shutil.rmtree(IMAGES / NAME, ignore_errors=True)


def domain_xml(kernel, initrd, serial_log):
    """webvirt's own guest definition under TCG, booting `kernel` directly, its serial port logged."""
    xml = hypervisor.build_domain(
        name=NAME,
        domain_type="qemu",  # this machine's /dev/kvm (kvm_pvm) cannot run a stock kernel
        memory_mib=128,
        vcpus=1,
        nics=[hypervisor.NicSpec(kind="network", source="default", mac=MAC)],
    )
    root = etree.fromstring(xml)
    os_element = root.find("os")
    for boot in os_element.findall("boot"):
        os_element.remove(boot)
    after_type = os_element.index(os_element.find("type")) + 1
    for offset, (tag, text) in enumerate((("kernel", kernel), ("initrd", initrd), ("cmdline", KERNEL_CMDLINE))):
        element = etree.Element(tag)
        element.text = str(text)
        os_element.insert(after_type + offset, element)
    etree.SubElement(root.find("devices/serial"), "log", file=str(serial_log), append="off")
    return etree.tostring(root, encoding="unicode")


class TinyLinux:
    """The defined guest; `ensure_ready()` boots it when it is not running."""

    def __init__(self):
        self.directory = IMAGES / NAME
        self.serial_log = self.directory / "serial.log"
        self.uuid = None
        self.address = None  # the IPv4 address (with prefix) init printed with its ready marker
        self.boot_seconds = None  # of the last boot, from start to the ready marker

    def define(self):
        images = build()
        remove_leftovers()
        self.directory.mkdir(parents=True)
        for source in (images.kernel, images.initrd):
            shutil.copy(source, self.directory / source.name)
        virsh("pool-create-as", NAME, "dir", "--target", str(self.directory))  # disks added by tests go here
        if virsh("net-info", "default").stdout.find("Active:         yes") < 0:
            virsh("net-start", "default")  # left running: other test runs may be using it
        xml = domain_xml(self.directory / images.kernel.name, self.directory / images.initrd.name, self.serial_log)
        self.uuid = hypervisor.define_guest(LOCAL, xml)
        return self

    def remove(self):
        remove_leftovers()

    def is_running(self):
        return virsh("domstate", NAME).stdout.strip() == "running"

    def ensure_ready(self):
        """Boot the guest if it is not running; wait for init's ready marker (with its address) and
        for its agent. Twice in CI (two test processes on a loaded machine) a fresh boot's agent
        never connected in libvirt's eyes ("not connected" for minutes, the guest otherwise fine):
        such a boot is done once more, and said in the test's output."""
        if not self.is_running():
            self._boot()
            if not self._agent_answers():
                print(f"{NAME}: its agent did not connect within {AGENT_WAIT_S} s of booting; booting again")
                virsh("destroy", NAME)
                self._boot()
        return self

    def _boot(self):
        self.address = None
        started = time.monotonic()
        hypervisor.power(LOCAL, self.uuid, "start")
        while self.address is None:
            if time.monotonic() - started > BOOT_TIMEOUT_S:
                raise AssertionError(f"no {READY_MARKER} after {BOOT_TIMEOUT_S} s:\n{self.console_text()[-3000:]}")
            time.sleep(0.2)
            for line in self.console_text().splitlines():
                if line.startswith(READY_MARKER):
                    self.address = line.split()[1]
        self.boot_seconds = time.monotonic() - started

    def _agent_answers(self):
        try:
            self.agent("guest-ping")
        except AssertionError:
            return False
        return True

    def console_text(self):
        try:
            return self.serial_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def agent(self, command, arguments=None, wait_s=AGENT_WAIT_S):
        """Ask the guest agent directly (as an admin would with virsh) and return its answer. An
        agent not connected yet (just booted) or not answering (a TCG guest on a busy machine,
        during a hotplug) is asked again for up to `wait_s`."""
        message = json.dumps({"execute": command, **({"arguments": arguments} if arguments else {})})
        started = time.monotonic()
        deadline, restarted = started + wait_s, False
        while (answer := virsh("qemu-agent-command", NAME, message, check=False)).returncode:
            if not restarted and "not connected" in answer.stderr and time.monotonic() - started > AGENT_RESTART_S:
                self.restart_agent()
                restarted = True
            if time.monotonic() > deadline or not any(word in answer.stderr for word in AGENT_AWAY):
                state = virsh("domstate", "--reason", NAME, check=False).stdout.strip()
                raise AssertionError(
                    f"the guest agent refused {message}: {answer.stderr.strip()} (the guest is {state}; "
                    f"its console ends with:\n{self.console_text()[-2000:]})"
                )
            time.sleep(0.5)
        return json.loads(answer.stdout)["return"]

    def restart_agent(self):
        """Start the agent again from the shell on the serial console. In CI (two test processes,
        a loaded machine) libvirt has seen the agent "not connected" for good right after a NIC
        hotplug, the guest otherwise fine; the guest closing and opening its port again makes
        libvirt connect anew. Said in the test's output."""
        print(f"{NAME}: its agent is not connected; starting it again from the serial console")
        console = hypervisor.SerialConsole(LOCAL, self.uuid, take_over=True)
        try:
            console.socket.sendall(b"\nkillall qemu-ga; sleep 1; qemu-ga -d\n")
            time.sleep(2)
        finally:
            console.close()

    def run(self, *argv, timeout=30):
        """Run a program in the guest through the agent's guest-exec; returns (exit code, output)."""
        pid = self.agent("guest-exec", {"path": argv[0], "arg": list(argv[1:]), "capture-output": True})["pid"]
        deadline = time.monotonic() + timeout
        while not (status := self.agent("guest-exec-status", {"pid": pid}))["exited"]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{argv} still running after {timeout} s")
            time.sleep(0.1)
        output = base64.b64decode(status.get("out-data", "")) + base64.b64decode(status.get("err-data", ""))
        return status["exitcode"], output.decode(errors="replace")
