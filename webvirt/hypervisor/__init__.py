"""The only package that talks to libvirt. Everything else uses these functions and errors."""

from .connection import ConnectionSpec, forget_connection
from .domain_xml import DiskFacts, DiskSpec, GuestFacts, NicFacts, NicSpec, build_domain
from .errors import ConsoleBusy, GuestNotFound, HostUnreachable, HypervisorError, InvalidState
from .events import LifecycleWatch
from .guests import POWER_ACTIONS, define_guest, delete_guest, list_guests, power, read_guest
from .hosts import HostFacts, read_host_facts
from .metrics import GuestCounters, HostCounters, read_counters
from .serial import SerialConsole
from .uri import DEFAULT_PORTS, TRANSPORTS, build_uri, validate_hostname, validate_username

__all__ = [
    "DEFAULT_PORTS",
    "POWER_ACTIONS",
    "TRANSPORTS",
    "ConnectionSpec",
    "ConsoleBusy",
    "DiskFacts",
    "DiskSpec",
    "GuestCounters",
    "GuestFacts",
    "GuestNotFound",
    "HostCounters",
    "HostFacts",
    "HostUnreachable",
    "HypervisorError",
    "InvalidState",
    "LifecycleWatch",
    "NicFacts",
    "NicSpec",
    "SerialConsole",
    "build_domain",
    "build_uri",
    "define_guest",
    "delete_guest",
    "forget_connection",
    "list_guests",
    "power",
    "read_counters",
    "read_guest",
    "read_host_facts",
    "validate_hostname",
    "validate_username",
]
