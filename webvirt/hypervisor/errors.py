"""Typed errors, and libvirt's error text in plain words.

Callers decide between retrying and failing by the class, not by libvirt codes. Users read
`str(error)`: for the libvirt errors in TRANSLATIONS a plain sentence with advice, while libvirt's
own text is kept in `detail` (shown behind "Details"); any other error keeps libvirt's text.
"""

import libvirt

from .words import _, gettext_noop


class HypervisorError(Exception):
    """A permanent failure: retrying the same call will not help. The message is shown to users."""

    def __init__(self, message="", *, detail=""):
        super().__init__(message)
        self.detail = detail  # libvirt's own words, when the message is a translation of them

    @property
    def full_text(self):
        """The message with libvirt's words after it, for places with no "Details" (host status, logs)."""
        if not self.detail:
            return str(self)
        return _("%(message)s libvirt said: %(detail)s") % {"message": self, "detail": self.detail}


class HostUnreachable(HypervisorError):
    """The host could not be reached or stopped answering; worth retrying later."""


class GuestNotFound(HypervisorError):
    """The guest is not defined on the host (any more)."""


class InvalidState(HypervisorError):
    """The guest is in a state that does not allow the action (e.g. rebooting a stopped guest)."""


class ConsoleBusy(HypervisorError):
    """Another session holds the guest's serial console."""


_XML = gettext_noop(
    "libvirt refused the XML: it does not follow libvirt's schema or holds a value libvirt does not accept."
)
_AGENT = gettext_noop(
    "The guest agent did not answer. Check that qemu-guest-agent is installed and running in the guest, "
    "and that the guest has its agent channel."
)

# libvirt error code -> a plain sentence with advice. One table for every message users see.
TRANSLATIONS = {
    libvirt.VIR_ERR_NO_DOMAIN: gettext_noop(
        "The guest is not defined on its host any more (removed outside webvirt?). "
        "Refresh the host to update the inventory."
    ),
    libvirt.VIR_ERR_OPERATION_INVALID: gettext_noop(
        "The guest is not in a state that allows this (for example, it is not "
        "running, or it is already running). Refresh its page and try again from its current state."
    ),
    libvirt.VIR_ERR_OPERATION_TIMEOUT: gettext_noop(
        "The host did not finish in time, usually because another job holds the "
        "guest (a backup, a migration, a stuck monitor). Try again in a minute."
    ),
    libvirt.VIR_ERR_NO_STORAGE_POOL: gettext_noop(
        "The storage pool is not defined on its host any more. Refresh the host."
    ),
    libvirt.VIR_ERR_NO_STORAGE_VOL: gettext_noop("The volume is not in its pool any more. Refresh the pool."),
    libvirt.VIR_ERR_STORAGE_VOL_EXIST: gettext_noop(
        "A volume with that name already exists in the pool. Choose another name."
    ),
    libvirt.VIR_ERR_NO_NETWORK: gettext_noop("The network is not defined on its host any more. Refresh the host."),
    libvirt.VIR_ERR_AGENT_UNRESPONSIVE: _AGENT,
    libvirt.VIR_ERR_AGENT_UNSYNCED: _AGENT,
    libvirt.VIR_ERR_XML_ERROR: _XML,
    libvirt.VIR_ERR_XML_DETAIL: _XML,
    libvirt.VIR_ERR_XML_INVALID_SCHEMA: _XML,
    libvirt.VIR_ERR_CONFIG_UNSUPPORTED: gettext_noop(
        "The host does not support this configuration (its hypervisor or "
        "machine type lacks a feature it asks for). Change the setting or use another host."
    ),
    libvirt.VIR_ERR_OPERATION_UNSUPPORTED: gettext_noop("The host's hypervisor does not support this action."),
    libvirt.VIR_ERR_NO_SUPPORT: gettext_noop("The host's libvirt driver does not support this action."),
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED: gettext_noop(
        "The host's libvirt driver does not support this action as asked (an option or parameter it does not know)."
    ),
    libvirt.VIR_ERR_DOM_EXIST: gettext_noop(
        "A guest with that name or UUID already exists on the host. Choose another name."
    ),
    libvirt.VIR_ERR_OPERATION_DENIED: gettext_noop(
        "The host's libvirt refused this action (its access rules deny it)."
    ),
    libvirt.VIR_ERR_ACCESS_DENIED: gettext_noop("The host's libvirt refused this action (its access rules deny it)."),
    libvirt.VIR_ERR_AUTH_FAILED: gettext_noop(
        "The host refused webvirt's credentials. Check the host's connection settings."
    ),
    libvirt.VIR_ERR_NO_CONNECT: gettext_noop(
        "Check that libvirtd runs on the host and that the host's address and connection settings are right."
    ),
}

# Words in libvirt's text that say more than a generic code (system, internal, operation failed).
PHRASES = (
    (
        "postcopy is not supported",
        gettext_noop(
            "This host cannot do post-copy migration (its kernel lacks userfaultfd, or its QEMU the feature). "
            "Migrate without post-copy; auto-converge helps a busy guest too."
        ),
    ),
    ("already exists", gettext_noop("Something with that name already exists on the host. Choose another name.")),
    (
        "no space left on device",
        gettext_noop("The host ran out of disk space. Free space in the pool (or on the host) and try again."),
    ),
    (
        "connection refused",
        gettext_noop(
            "The host refused the connection. Check that libvirtd (or sshd, for SSH) runs there "
            "and listens on that port."
        ),
    ),
    (
        "to ovs bridge",  # "Unable to add port vnet0 to OVS bridge br-vlans"
        gettext_noop(
            "Open vSwitch on the host did not take the guest's network interface. Check that openvswitch-switch "
            "runs there (ovs-vsctl show) and that the network's bridge exists (ovs-vsctl br-exists NAME); "
            "see docs/vlans.md."
        ),
    ),
    (
        "cannot get interface mtu",  # a tap device for a bridge the host lacks
        gettext_noop(
            "The host has no bridge of the name the network gives. Build it in the host's network configuration "
            "(docs/vlans.md), or put the guest's interface on another network."
        ),
    ),
    (
        "permission denied",
        gettext_noop(
            "The host refused access to a file or device (permission denied). Check its owner and mode, "
            "and the host's security driver (AppArmor or SELinux)."
        ),
    ),
)


def plain_words(code, message):
    """A plain sentence for a libvirt error, or None when there is none (its text is then shown).
    The code decides where the table knows it; the phrases speak for the generic codes."""
    if code in TRANSLATIONS:
        return _(TRANSLATIONS[code])
    lowered = (message or "").lower()
    return next((_(words) for phrase, words in PHRASES if phrase in lowered), None)


def translated(cls, exc, *, prefix=""):
    """`cls` for libvirt error `exc`: its plain words (after `prefix`) with libvirt's text as
    detail, or libvirt's text alone when the table has no words for it. `prefix` is a translated
    clause ending in ": "."""
    raw = exc.get_error_message() or str(exc)
    words = plain_words(exc.get_error_code(), raw)
    if words is None:
        return cls(f"{prefix}{raw}")
    return cls(f"{prefix}{words}", detail=raw)
