"""What users read: no doubled nouns, singular for one, no Django defaults, one wording style."""

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor.guest_config import resize


def flash(client, response):
    """The messages this response set (the test client does not follow the redirect that shows them)."""
    client.cookies.pop("messages", None)
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_queued_messages_name_the_object_once(admin_client, storage_host, pool, settings, tmp_path):
    settings.WEBVIRT_UPLOAD_DIR = tmp_path  # the upload is staged, and never run here
    response = admin_client.post(
        reverse("storage:pools", args=[storage_host.pk]),
        {"name": "extra", "kind": "dir", "target_path": "/srv/webvirt/extra", "autostart": "on"},
    )
    assert flash(admin_client, response) == ["Create pool extra on store: queued."]
    upload = SimpleUploadedFile("disk.img", b"\0" * 1024)
    response = admin_client.post(pool.get_absolute_url(), {"upload-file": upload, "upload-name": ""})
    assert flash(admin_client, response) == ["Upload volume images/disk.img on store: queued."]
    network = storage_host.networks.get()
    response = admin_client.post(reverse("networks:action", args=[storage_host.pk, network.pk, "no-autostart"]))
    assert flash(admin_client, response) == ["Disable autostart of network lan on store: queued."]


def test_autostart_buttons_say_what_they_do(admin_client, storage_host, pool):
    page = admin_client.get(reverse("storage:pools", args=[storage_host.pk])).content.decode()
    page += admin_client.get(reverse("networks:list", args=[storage_host.pk])).content.decode()
    assert "No autostart" not in page
    assert "<button>Disable autostart</button>" in page or "<button>Enable autostart</button>" in page


def test_one_vcpu_is_singular(admin_client, make_test_host):
    host = make_test_host(guests=[{"name": "solo", "state": "shutoff"}])
    guest = Guest.objects.get(host=host, name="solo")
    assert resize(connection_spec(host), guest.uuid, vcpus=1, memory_mib=128) == (
        "1 vCPU and 128 MiB from the next start."
    )
    assert resize(connection_spec(host), guest.uuid, vcpus=2, memory_mib=128) == (
        "2 vCPUs and 128 MiB from the next start."
    )


def test_forms_use_our_labels_not_field_names(admin_client):
    page = admin_client.get(reverse("guests:flavors")).content.decode()
    assert "Vcpus" not in page and ">vCPUs</label>" in page
    page = admin_client.get(reverse("accounts:users")).content.decode()
    assert "admin site" not in page and "Admins manage hosts, storage, networks, users and every guest." in page


def test_the_host_chooser_counts_cpus_in_words(admin_client, test_host, storage_host):
    storage_host.cpus = 1
    storage_host.save()
    page = admin_client.get(reverse("guests:create") + "?host=").content.decode()
    assert "1 CPU," in page and "1 CPUs" not in page


def test_a_bare_required_error_after_a_redirect_names_its_field():
    from django import forms

    from webvirt.core.forms import form_problems

    class Pick(forms.Form):
        volume = forms.IntegerField()
        guests = forms.IntegerField(error_messages={"required": "Select at least one guest."})

    assert form_problems(Pick({})) == "Volume: This field is required. Select at least one guest."
