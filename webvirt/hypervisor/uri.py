"""Build libvirt connection URIs from structured fields, never from free-form text.

Only the transports listed in TRANSPORTS are accepted; host names, user names and paths are
validated so that nothing a user types can add URI parameters of its own.
"""

import re
from urllib.parse import quote, urlencode

from .errors import HypervisorError
from .words import _, gettext_noop

TRANSPORTS = {  # labels translated by whoever shows them
    "local": gettext_noop("Local socket (qemu:///system)"),
    "ssh": gettext_noop("SSH (qemu+libssh, key file)"),
    "tcp": gettext_noop("TCP with SASL (qemu+tcp)"),
    "tls": gettext_noop("TLS (qemu+tls, client certificate)"),
    "test": gettext_noop("libvirt test driver"),
}
DEFAULT_PORTS = {"ssh": 22, "tcp": 16509, "tls": 16514}
# SSH goes through libvirt's libssh transport: unlike the one that runs the ssh binary, it takes a
# known_hosts file per connection, so each host's key can be pinned.
SCHEMES = {"ssh": "qemu+libssh", "tcp": "qemu+tcp", "tls": "qemu+tls"}

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")
_TEST_PATH = re.compile(r"^/[A-Za-z0-9_./-]+\.xml$")


def validate_hostname(value):
    match = _IPV4.match(value)
    if match:
        if all(0 <= int(part) <= 255 for part in match.groups()):
            return value
        raise HypervisorError(_("%(value)s is not a valid IPv4 address.") % {"value": repr(value)})
    if not _HOSTNAME.match(value):
        raise HypervisorError(_("%(value)s is not a valid host name or IPv4 address.") % {"value": repr(value)})
    return value


def validate_username(value):
    if not _USERNAME.match(value):
        raise HypervisorError(_("User names may hold letters, digits, '_', '.' and '-' only."))
    return value


def build_uri(transport, *, hostname="", port=None, username="", test_path="", params=None):
    """Return the libvirt URI for these fields; `params` are added by webvirt itself (key files...)."""
    if transport not in TRANSPORTS:
        raise HypervisorError(_("Unknown connection type %(type)s.") % {"type": repr(transport)})
    if transport == "local":
        return "qemu:///system"
    if transport == "test":
        if not test_path:
            return "test:///default"
        if not _TEST_PATH.match(test_path) or ".." in test_path.split("/"):
            raise HypervisorError(_("The test driver file must be an absolute path to a .xml file."))
        return f"test://{test_path}"
    if not hostname:
        raise HypervisorError(_("A host name is required for remote connections."))
    authority = validate_hostname(hostname)
    if username:
        authority = f"{quote(validate_username(username), safe='')}@{authority}"
    if port is not None:
        if not 1 <= int(port) <= 65535:
            raise HypervisorError(_("The port must be between 1 and 65535."))
        authority = f"{authority}:{int(port)}"
    query = f"?{urlencode(params)}" if params else ""
    return f"{SCHEMES[transport]}://{authority}/system{query}"
