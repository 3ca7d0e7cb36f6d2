"""Facts about a host: versions, CPU, memory and whether guests can use KVM."""

import contextlib
import platform
from dataclasses import dataclass, field

import libvirt

from .connection import session
from .domain_xml import parse


@dataclass
class HostFacts:
    hostname: str
    libvirt_version: str
    hypervisor: str
    hypervisor_version: str
    arch: str
    cpu_model: str
    cpus: int
    memory_mib: int
    domain_types: list[str] = field(default_factory=list)
    uefi: bool = False

    @property
    def preferred_domain_type(self):
        """KVM when the host offers it, else TCG ("qemu"); the test driver only knows "test"."""
        for kind in ("kvm", "qemu", "test"):
            if kind in self.domain_types:
                return kind
        return self.domain_types[0] if self.domain_types else "qemu"


def _version(number):
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def read_host_facts(spec):
    with session(spec) as conn:
        arch, memory_mib, cpus = conn.getInfo()[:3]
        caps = parse(conn.getCapabilities())
        hostname = ""
        with contextlib.suppress(libvirt.libvirtError):
            hostname = conn.getHostname()
        host_arch = caps.findtext("host/cpu/arch") or arch
        domain_types = []
        for guest in caps.iterfind("guest"):
            if guest.find("arch").get("name") == host_arch:
                for domain in guest.iterfind("arch/domain"):
                    if domain.get("type") not in domain_types:
                        domain_types.append(domain.get("type"))
        uefi = False
        if domain_types and domain_types[0] != "test":
            with contextlib.suppress(libvirt.libvirtError):
                domcaps = parse(
                    conn.getDomainCapabilities(None, host_arch, None, "kvm" if "kvm" in domain_types else "qemu")
                )
                uefi = "efi" in [v.text for v in domcaps.iterfind("os/enum[@name='firmware']/value")]
        return HostFacts(
            hostname=hostname,
            libvirt_version=_version(conn.getLibVersion()),
            hypervisor=conn.getType(),
            hypervisor_version=_version(conn.getVersion()),
            arch=host_arch or platform.machine(),
            cpu_model=caps.findtext("host/cpu/model") or "",
            cpus=cpus,
            memory_mib=memory_mib,
            domain_types=domain_types,
            uefi=uefi,
        )
