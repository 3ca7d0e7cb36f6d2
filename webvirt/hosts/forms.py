import dataclasses
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_ssh_private_key
from cryptography.x509 import load_pem_x509_certificate
from django import forms
from django.utils.translation import gettext_lazy as _

from webvirt import hypervisor
from webvirt.accounts.forms import LEASE_FIELDS, clean_lease_fields, setup_lease_fields
from webvirt.core.actions import get as catalogue_action

from . import actions
from .models import MAX_RATIOS, SECRET_FIELDS, Host

SECRET_HELP = _("Stored encrypted and never shown again; leave blank to keep the current one.")


class SecretTextarea(forms.Textarea):
    """A textarea for keys that comes back empty, even when the form is shown again with errors."""

    def format_value(self, value):
        return None


class HostForm(forms.ModelForm):
    """Connection fields per transport; the URI is built from them, never typed in."""

    transport = forms.ChoiceField(
        label=_("Transport"), choices=[(name, _(label)) for name, label in hypervisor.TRANSPORTS.items()]
    )

    password = forms.CharField(
        label=_("SASL password"), required=False, widget=forms.PasswordInput(render_value=False), help_text=SECRET_HELP
    )
    ssh_private_key = forms.CharField(
        label=_("SSH private key"),
        required=False,
        widget=SecretTextarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_(
            "OpenSSH or PEM format, without a passphrase. "
            "Stored encrypted and never shown again; leave blank to keep the current one."
        ),
    )
    tls_client_key = forms.CharField(
        label=_("TLS client key"),
        required=False,
        widget=SecretTextarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=SECRET_HELP,
    )

    FIELD_TRANSPORTS = {
        "hostname": "ssh tcp tls",
        "port": "ssh tcp tls",
        "username": "ssh tcp",
        "password": "tcp",
        "ssh_private_key": "ssh",
        "ssh_verify_host_key": "ssh",
        "ssh_known_hosts": "ssh",
        "tls_ca_cert": "tls",
        "tls_client_cert": "tls",
        "tls_client_key": "tls",
        "test_path": "test",
        "console_address": "ssh tcp tls",
    }

    FIELD_ORDER = (
        "name",
        "transport",
        "hostname",
        "port",
        "username",
        "password",
        "ssh_private_key",
        "ssh_verify_host_key",
        "ssh_known_hosts",
        "tls_ca_cert",
        "tls_client_cert",
        "tls_client_key",
        "test_path",
        "console_address",
        "vnc_listen",
        "worker_queue",
        "enabled",
        *MAX_RATIOS,
        *LEASE_FIELDS,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(self.FIELD_ORDER)
        self.fields["vnc_listen"].required = False
        setup_lease_fields(self)
        for name in MAX_RATIOS:  # left out (older API clients): the host keeps its own
            self.fields[name].required = False
        for name, transports in self.FIELD_TRANSPORTS.items():
            self.fields[name].transports = transports  # the page shows a field only for these

    class Meta:
        model = Host
        fields = [
            "name",
            "transport",
            "hostname",
            "port",
            "username",
            "test_path",
            "ssh_verify_host_key",
            "ssh_known_hosts",
            "tls_ca_cert",
            "tls_client_cert",
            "console_address",
            "vnc_listen",
            "worker_queue",
            "enabled",
            *MAX_RATIOS,
            *LEASE_FIELDS,
        ]
        error_messages = {"port": {"max_value": _("The port must be between 1 and 65535.")}}
        widgets = {
            "ssh_known_hosts": forms.Textarea(attrs={"rows": 2}),
            "tls_ca_cert": forms.Textarea(attrs={"rows": 3}),
            "tls_client_cert": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {
            "name": _("Name"),
            "hostname": _("Host name"),
            "port": _("Port"),
            "username": _("User name"),
            "test_path": _("Test driver file"),
            "ssh_verify_host_key": _("Verify the SSH host key"),
            "ssh_known_hosts": _("SSH known_hosts lines"),
            "tls_ca_cert": _("TLS CA certificate"),
            "tls_client_cert": _("TLS client certificate"),
            "console_address": _("Console address"),
            "vnc_listen": _("VNC listen address"),
            "worker_queue": _("Worker queue"),
            "enabled": _("Enabled"),
            "cpu_allocation_ratio": _("vCPU allocation ratio"),
            "memory_allocation_ratio": _("Memory allocation ratio"),
            "disk_allocation_ratio": _("Disk allocation ratio"),
        }
        help_texts = {
            "hostname": _("Host name or IPv4 address of the libvirt host."),
            "port": _("Leave blank for the transport's default (SSH 22, TCP 16509, TLS 16514)."),
            "test_path": _("Absolute path of a test driver XML file; blank for test:///default."),
            "ssh_known_hosts": _("Lines for known_hosts; blank uses the worker's own known_hosts."),
        }

    def _secret(self, name):
        typed = self.cleaned_data.get(name, "").strip()
        return typed or (self.instance.get_secrets().get(name, "") if self.instance.credentials else "")

    def clean_hostname(self):
        return self._validated("hostname", hypervisor.validate_hostname)

    def clean_vnc_listen(self):
        return self.cleaned_data.get("vnc_listen") or "127.0.0.1"

    def _ratio(self, name):
        value = self.cleaned_data.get(name)
        return getattr(self.instance, name) if value is None else value

    def clean_cpu_allocation_ratio(self):
        return self._ratio("cpu_allocation_ratio")

    def clean_memory_allocation_ratio(self):
        return self._ratio("memory_allocation_ratio")

    def clean_disk_allocation_ratio(self):
        return self._ratio("disk_allocation_ratio")

    def clean_console_address(self):
        return self._validated("console_address", hypervisor.validate_hostname)

    def clean_username(self):
        return self._validated("username", hypervisor.validate_username)

    def _validated(self, name, validate):
        value = (self.cleaned_data.get(name) or "").strip()
        if value:
            try:
                validate(value)
            except hypervisor.HypervisorError as exc:
                raise forms.ValidationError(str(exc)) from None
        return value

    def clean_ssh_private_key(self):
        key = self.cleaned_data.get("ssh_private_key", "").strip()
        if key:
            try:
                if "OPENSSH PRIVATE KEY" in key:
                    load_ssh_private_key(key.encode(), password=None)
                else:
                    load_pem_private_key(key.encode(), password=None)
            except (ValueError, TypeError):
                raise forms.ValidationError(
                    _("This is not an unencrypted private key in OpenSSH or PEM format.")
                ) from None
        return key

    def clean_tls_client_key(self):
        key = self.cleaned_data.get("tls_client_key", "").strip()
        if key:
            try:
                load_pem_private_key(key.encode(), password=None)
            except (ValueError, TypeError):
                raise forms.ValidationError(_("This is not an unencrypted private key in PEM format.")) from None
        return key

    def _check_certificate(self, name):
        text = self.cleaned_data.get(name, "").strip()
        if text:
            try:
                load_pem_x509_certificate(text.encode())
            except ValueError:
                self.add_error(name, _("This is not a PEM certificate."))

    def clean(self):
        data = clean_lease_fields(self, super().clean())
        transport = data.get("transport")
        if not transport:
            return data
        for field in ("hostname", "username", "test_path"):
            data[field] = (data.get(field) or "").strip()
        remote = transport in hypervisor.DEFAULT_PORTS
        if not remote:
            data["hostname"], data["port"], data["username"] = "", None, ""
        if transport != "test":
            data["test_path"] = ""
        if remote and not data["hostname"] and "hostname" not in self.errors:
            self.add_error("hostname", _("A host name is required for this connection type."))
        if transport == "ssh" and not self._secret("ssh_private_key"):
            self.add_error("ssh_private_key", _("An SSH private key is required for SSH connections."))
        if transport == "ssh" and not data["username"] and "username" not in self.errors:
            self.add_error("username", _("A user name is required for SSH connections."))
        if transport == "tcp" and not (data["username"] and self._secret("password")):
            self.add_error("password", _("TCP connections need a SASL user name and password."))
        if transport == "tls":
            self._check_certificate("tls_ca_cert")
            self._check_certificate("tls_client_cert")
            given = [
                bool(data.get("tls_ca_cert")),
                bool(data.get("tls_client_cert")),
                bool(self._secret("tls_client_key")),
            ]
            if any(given) and not all(given):
                self.add_error("tls_ca_cert", _("Give the CA certificate, client certificate and client key together."))
        if transport == "test" and data["test_path"]:
            path = Path(data["test_path"])
            if not path.is_absolute() or not path.is_file():
                self.add_error("test_path", _("No such file on this server."))
        if self.errors:
            return data
        try:
            hypervisor.build_uri(
                transport,
                hostname=data["hostname"],
                port=data.get("port"),
                username=data["username"],
                test_path=data["test_path"],
            )
        except hypervisor.HypervisorError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def params(self):
        """The host's settings as typed; a secret left empty keeps the host's own."""
        data = self.cleaned_data
        names = [field.name for field in dataclasses.fields(actions.HostSettings)]
        values = {name: data[name] for name in names if name in data and name not in SECRET_FIELDS}
        return actions.HostSettings(**values, **{name: data.get(name, "").strip() for name in SECRET_FIELDS})


class EvacuateForm(forms.Form):
    include_stopped = forms.BooleanField(
        label=_("Also move the guests that are shut off"),
        required=False,
        help_text=_("They move offline: their definitions, and their disks where the new host does not share them."),
    )

    def params(self):
        """The action is declared by the guests app (it moves guests); built through the catalogue."""
        return catalogue_action("host.evacuate").params(include_stopped=self.cleaned_data["include_stopped"])


class MaintenanceForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=200,
        help_text=_("Optional; shown with the host, e.g. “new disks, back Monday”."),
    )

    def params(self):
        return actions.Maintenance(reason=self.cleaned_data["reason"].strip())
