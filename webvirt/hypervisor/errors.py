"""Typed errors: callers decide between retrying and failing by the class, not by libvirt codes."""


class HypervisorError(Exception):
    """A permanent failure: retrying the same call will not help. The message is shown to users."""


class HostUnreachable(HypervisorError):
    """The host could not be reached or stopped answering; worth retrying later."""


class GuestNotFound(HypervisorError):
    """The guest is not defined on the host (any more)."""


class InvalidState(HypervisorError):
    """The guest is in a state that does not allow the action (e.g. rebooting a stopped guest)."""


class ConsoleBusy(HypervisorError):
    """Another session holds the guest's serial console."""
