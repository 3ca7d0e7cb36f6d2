from webvirt.core.operations import handler
from webvirt.hypervisor import HypervisorError

from .sync import sync_host


@handler("host.resync", "Refresh inventory")
def resync(operation):
    if operation.host is None:
        raise HypervisorError("The host was removed before the refresh ran.")
    return sync_host(operation.host)
