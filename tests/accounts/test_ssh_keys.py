"""SSH keys are checked by one validator, on the account page and on the new-guest form alike."""

import pytest
from django.urls import reverse

from tests.guests.test_create import form_data
from webvirt.core.models import Operation

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOgHbxS4V9T7Q6z7H9WvPZ1m6mJm0F6m2R8f4n1q6W2v alice@laptop"
BAD_KEYS = [
    ("ssh-rsa not-a-key", "This is not an SSH public key"),
    ("hello", "This is not an SSH public key"),
    ("ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "This type of SSH key is not supported"),  # was a 500
]


@pytest.fixture
def cloud_image(storage_host):
    pool = storage_host.pools.get()
    return pool.volumes.create(
        name="debian-cloud.qcow2", path=f"{pool.target_path}/debian-cloud.qcow2", format="qcow2", allocation=2**29
    )


def cloud_data(storage_host, cloud_image, ssh_keys):
    return form_data(storage_host, source="cloud", template=cloud_image.pk, ssh_keys=ssh_keys)


@pytest.mark.parametrize(("text", "message"), BAD_KEYS)
def test_both_forms_refuse_the_same_keys(admin_client, storage_host, cloud_image, text, message):
    response = admin_client.post(reverse("accounts:account"), {"name": "k", "public_key": text})
    assert message in " ".join(response.context["form"].errors["public_key"])
    url = f"{reverse('guests:create')}?host={storage_host.pk}"
    response = admin_client.post(url, cloud_data(storage_host, cloud_image, f"{KEY}\n\n{text}"))
    assert response.status_code == 400
    assert f"Line 3: {message}" in " ".join(response.context["form"].errors["ssh_keys"])
    assert not Operation.objects.exists()


def test_good_keys_reach_the_guest_one_a_line(admin_client, storage_host, cloud_image):
    url = f"{reverse('guests:create')}?host={storage_host.pk}"
    response = admin_client.post(url, cloud_data(storage_host, cloud_image, f"  {KEY.replace(' ', '   ')}  \n\n"))
    assert response.status_code == 302
    assert Operation.objects.get(kind="guest.create").params["ssh_keys"] == [KEY]
