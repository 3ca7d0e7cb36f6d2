"""Adding and editing hosts: structured fields, clear errors, secrets encrypted and never shown."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.exceptions import ValidationError
from django.urls import reverse

from webvirt.hosts.connections import connection_spec, display_uri
from webvirt.hosts.models import Host


@pytest.fixture
def ssh_key():
    key = ed25519.Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()


def post_host(client, **fields):
    data = {"name": "kvm1", "transport": "ssh", "enabled": "on", "ssh_verify_host_key": "on", **fields}
    return client.post(reverse("hosts:add"), data)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"transport": "xen"}, "transport", "Select a valid choice"),
        ({"hostname": "kvm1/system?keyfile=/etc/shadow", "username": "root"}, "hostname", "not a valid host name"),
        ({"hostname": "kvm1", "username": "root@evil"}, "username", "User names may hold"),
        ({"hostname": "", "username": "root"}, "hostname", "A host name is required"),
        ({"hostname": "kvm1", "username": "root", "ssh_private_key": "not a key"}, "ssh_private_key", "not an unen"),
        ({"hostname": "kvm1", "username": "root"}, "ssh_private_key", "An SSH private key is required"),
        ({"transport": "tcp", "hostname": "kvm1", "username": "sasl"}, "password", "SASL user name and password"),
        (
            {"transport": "tcp", "hostname": "kvm1", "port": "99999", "username": "u", "password": "p"},
            "port",
            "between 1 and 65535",
        ),
        (
            {"transport": "tls", "hostname": "kvm1", "tls_client_key": "-----BEGIN PRIVATE KEY-----\nbad"},
            "tls_client_key",
            "not an unencrypted private key in PEM",
        ),
        ({"transport": "tls", "hostname": "kvm1", "tls_ca_cert": "nope"}, "tls_ca_cert", "not a PEM certificate"),
        ({"transport": "test", "test_path": "/no/such/file.xml"}, "test_path", "No such file"),
        ({"name": "<b>x</b>", "transport": "local"}, "name", "Use letters"),
    ],
)
def test_bad_input_is_explained_on_the_page(admin_client, fields, field, message):
    response = post_host(admin_client, **fields)
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field, []) if field else form.non_field_errors()
    assert errors, form.errors
    assert message in " ".join(errors)
    assert message in response.content.decode()
    assert not Host.objects.exists()


def test_ssh_host_secrets_are_encrypted_and_never_rendered(admin_client, ssh_key):
    response = post_host(admin_client, hostname="kvm1.example.org", username="virt", ssh_private_key=ssh_key)
    host = Host.objects.get()
    assert response.status_code == 302
    assert display_uri(host) == "qemu+libssh://virt@kvm1.example.org/system"
    assert "PRIVATE KEY" not in host.credentials
    assert connection_spec(host).ssh_private_key == ssh_key.strip()
    secret_line = ssh_key.strip().splitlines()[1]
    for url in (reverse("hosts:edit", args=[host.pk]), reverse("hosts:detail", args=[host.pk]), reverse("hosts:list")):
        assert secret_line not in admin_client.get(url).content.decode()
    assert secret_line not in repr(connection_spec(host))


def test_editing_with_blank_secret_keeps_the_stored_one(admin_client):
    response = post_host(admin_client, transport="tcp", hostname="10.1.1.1", username="sasl", password="s3cret!")
    assert response.status_code == 302
    host = Host.objects.get()
    response = admin_client.post(
        reverse("hosts:edit", args=[host.pk]),
        {"name": "kvm1-renamed", "transport": "tcp", "hostname": "10.1.1.2", "username": "sasl", "enabled": "on"},
    )
    assert response.status_code == 302
    host.refresh_from_db()
    assert (host.name, host.hostname, connection_spec(host).password) == ("kvm1-renamed", "10.1.1.2", "s3cret!")
    assert "s3cret!" not in host.credentials


def test_switching_to_local_drops_remote_fields(admin_client):
    post_host(admin_client, transport="local", hostname="kvm1", username="root", port="22")
    host = Host.objects.get()
    assert (host.hostname, host.port, host.username, display_uri(host)) == ("", None, "", "qemu:///system")


def test_only_admins_manage_hosts(outsider_client, test_host):
    assert outsider_client.get(reverse("hosts:add")).status_code == 403
    assert outsider_client.get(reverse("hosts:list")).context["hosts"].count() == 0
    assert outsider_client.get(reverse("hosts:detail", args=[test_host.pk])).status_code == 404
    assert outsider_client.post(reverse("hosts:resync", args=[test_host.pk])).status_code == 404
    assert outsider_client.post(reverse("hosts:delete", args=[test_host.pk])).status_code == 404
    assert Host.objects.filter(pk=test_host.pk).exists()


def test_anonymous_users_are_sent_to_log_in(client, test_host):
    response = client.get(reverse("hosts:detail", args=[test_host.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_secrets_are_not_echoed_when_the_form_comes_back_with_errors(admin_client, ssh_key):
    """A form shown again for another field's error must not carry the pasted key or password."""
    secret_line = ssh_key.strip().splitlines()[1]
    response = post_host(admin_client, hostname="bad host!", username="virt", ssh_private_key=ssh_key)
    assert response.status_code == 200 and "not a valid host name" in response.content.decode()
    assert secret_line not in response.content.decode()
    response = post_host(admin_client, transport="tcp", hostname="bad host!", username="u", password="s3cret-sasl-pw")
    assert response.status_code == 200 and "s3cret-sasl-pw" not in response.content.decode()
    assert not Host.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["report\u202etxt.exe", "a..b", "..", "tab\tname", "zero\u200bwidth", "line\u2028break", "semi;colon", "a/b"],
)
def test_host_names_refuse_control_format_and_bidi_characters(admin_client, name):
    response = post_host(admin_client, name=name, transport="local")
    assert "Use letters, digits, spaces, '.', '_' and '-', with no '..'" in " ".join(
        response.context["form"].errors["name"]
    )
    assert not Host.objects.exists()


@pytest.mark.parametrize("name", ["kvm-1.lab", "Rechner Süd", "서버_2", "  padded  "])
def test_host_names_in_any_script_are_kept(admin_client, name):
    assert post_host(admin_client, name=name, transport="local").status_code == 302
    assert Host.objects.get().name == name.strip()  # the form trims; the model refuses spaces at the ends
    with pytest.raises(ValidationError) as refused:
        Host(name=f" {name.strip()}", transport="local").clean_fields()
    assert "name" in refused.value.message_dict


def test_users_see_the_hosts_open_to_them_read_only(outsider_client, test_host, storage_host):
    page = outsider_client.get(reverse("hosts:list")).content.decode()
    assert "No host is open to you yet" in page and "testhost" not in page
    test_host.public = True
    test_host.save()
    page = outsider_client.get(reverse("hosts:list")).content.decode()
    assert 'data-host="testhost"' in page and 'data-host="store"' not in page
    assert "No host" not in page and "Hosts are managed by admins" in page
    assert test_host.get_absolute_url() not in page and "test:///" not in page  # no admin pages, no connection
