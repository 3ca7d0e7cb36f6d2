"""How to reach a host: its connection spec for webvirt.hypervisor, built here rather than on the
model, so that models (and the web processes that only read them) never load libvirt."""

from django.conf import settings
from django.utils.translation import gettext as _

from webvirt import hypervisor


def connection_spec(host):
    secrets = host.get_secrets() if host.credentials else {}
    return hypervisor.ConnectionSpec(
        transport=host.transport,
        hostname=host.hostname,
        port=host.port,
        username=host.username,
        test_path=host.test_path,
        password=secrets.get("password", ""),
        ssh_private_key=secrets.get("ssh_private_key", ""),
        ssh_known_hosts=host.ssh_known_hosts,
        ssh_verify_host_key=host.ssh_verify_host_key,
        tls_ca_cert=host.tls_ca_cert,
        tls_client_cert=host.tls_client_cert,
        tls_client_key=secrets.get("tls_client_key", ""),
        timeout=settings.WEBVIRT_CONNECT_TIMEOUT,
    )


def operation_spec(operation):
    """The connection spec of an Operation's host, or a clear failure if it was removed meanwhile."""
    if operation.host is None:
        raise hypervisor.HypervisorError(_("The host was removed before this ran."))
    return connection_spec(operation.host)


def display_uri(host):
    """The URI without any parameters: safe to show on a page or in a log."""
    return connection_spec(host).display_uri
