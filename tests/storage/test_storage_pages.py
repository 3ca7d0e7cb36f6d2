"""Pools and volumes: the inventory, the forms' refusals, and Operations on the test driver."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from webvirt.core.models import Operation

from ..conftest import GIB


def test_sync_reads_pools_and_volumes(pool):
    assert (pool.type, pool.state, pool.capacity, pool.target_path) == (
        "dir",
        "active",
        100 * GIB,
        "/var/lib/libvirt/images",
    )
    assert list(pool.volumes.values_list("name", "format", "capacity")) == [("debian.iso", "raw", 1048576)]


def test_pages_list_pools_and_volumes(admin_client, pool):
    page = admin_client.get(reverse("storage:pools", args=[pool.host_id])).content.decode()
    assert 'data-pool="images"' in page and "100.0 GiB" in page
    page = admin_client.get(pool.get_absolute_url()).content.decode()
    assert 'data-volume="debian.iso"' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "a</name><x>", "format": "qcow2", "size_gib": "1"}, "name", "no spaces, slashes or XML"),
        ({"name": "../etc/passwd", "format": "qcow2", "size_gib": "1"}, "name", "no spaces, slashes or XML"),
        ({"name": "a/b", "format": "qcow2", "size_gib": "1"}, "name", "no spaces, slashes or XML"),
        ({"name": "debian.iso", "format": "raw", "size_gib": "1"}, "name", "already has a volume named debian.iso"),
        ({"name": "v1", "format": "qcow2", "size_gib": "-1"}, "size_gib", "greater than or equal to 0.001"),
        ({"name": "v1", "format": "qcow2", "size_gib": "0"}, "size_gib", "greater than or equal to 0.001"),
        ({"name": "v1", "format": "qcow2", "size_gib": "101"}, "size_gib", "more than the pool's capacity"),
        ({"name": "v1", "format": "raw", "size_gib": "100"}, "size_gib", "more than the pool's free space"),
        ({"name": "v1", "format": "vmdk", "size_gib": "1"}, "format", "Select a valid choice"),
    ],
)
def test_bad_volumes_are_refused_with_a_reason(admin_client, pool, data, field, message):
    response = admin_client.post(pool.get_absolute_url(), {f"new-{k}": v for k, v in data.items()})
    assert response.status_code == 400
    assert message in " ".join(response.context["volume_form"].errors[field])
    assert not Operation.objects.exists()


def test_volume_create_and_delete_as_operations(admin_client, pool, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            pool.get_absolute_url(), {"new-name": "disk1.qcow2", "new-format": "qcow2", "new-size_gib": "2.5"}
        )
    assert response.status_code == 302
    operation = Operation.objects.get(kind="volume.create")
    assert operation.status == "succeeded", operation.message
    volume = pool.volumes.get(name="disk1.qcow2")
    assert (volume.format, volume.capacity) == ("qcow2", int(2.5 * GIB))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("storage:volume-action", args=[pool.host_id, pool.pk, volume.pk, "delete"]))
    assert Operation.objects.get(kind="volume.delete").status == "succeeded"
    assert not pool.volumes.filter(name="disk1.qcow2").exists()


def test_shrinking_or_bad_copies_are_refused(admin_client, pool):
    volume = pool.volumes.get()
    url = reverse("storage:volume-action", args=[pool.host_id, pool.pk, volume.pk, "resize"])
    page = admin_client.post(url, {"size_gib": "0.0001"}, follow=True).content.decode()
    assert "Volumes only grow" in page or "greater than or equal to 0.001" in page
    url = reverse("storage:volume-action", args=[pool.host_id, pool.pk, volume.pk, "clone"])
    page = admin_client.post(url, {"new_name": "debian.iso"}, follow=True).content.decode()
    assert "already has a volume named debian.iso" in page
    page = admin_client.post(url, {"new_name": "x y"}, follow=True).content.decode()
    assert "no spaces, slashes or XML" in page
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("notes.txt", b"hello", "not an ISO image, a qcow2 disk or a raw disk"),
        ("disk.img", b"x" * 1000, "not an ISO image, a qcow2 disk or a raw disk"),  # not whole sectors
        ("fake.iso", b"\0" * 40000, "not an ISO image, a qcow2 disk or a raw disk"),
    ],
)
def test_uploads_that_are_not_disk_images_are_refused(admin_client, pool, filename, content, message):
    response = admin_client.post(
        pool.get_absolute_url(), {"upload-file": SimpleUploadedFile(filename, content), "upload-name": ""}
    )
    assert response.status_code == 400
    assert message in " ".join(response.context["upload_form"].errors["file"])
    assert not Operation.objects.exists()


def test_upload_name_must_be_new_and_safe(admin_client, pool):
    iso = b"\0" * 0x8001 + b"CD001" + b"\0" * 2042
    response = admin_client.post(
        pool.get_absolute_url(), {"upload-file": SimpleUploadedFile("x.iso", iso), "upload-name": "debian.iso"}
    )
    assert "already has a volume named debian.iso" in " ".join(response.context["upload_form"].errors["name"])


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "p1", "kind": "dir", "target_path": "/etc/webvirt"}, "target_path", "must be below one of"),
        ({"name": "p1", "kind": "dir", "target_path": "/var/lib/libvirt/images/../../etc"}, "target_path", "below one"),
        ({"name": "p1", "kind": "dir", "target_path": "relative/path"}, "target_path", "must be below one of"),
        ({"name": "images", "kind": "dir", "target_path": "/srv/webvirt/x"}, "name", "already has a pool named"),
        ({"name": "p1", "kind": "logical"}, "volume_group", "Name the existing volume group"),
        ({"name": "p1", "kind": "netfs", "target_path": "/srv/webvirt/n", "nfs_host": "bad host"}, "nfs_host", "valid"),
    ],
)
def test_bad_pools_are_refused(admin_client, storage_host, data, field, message):
    response = admin_client.post(reverse("storage:pools", args=[storage_host.pk]), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Operation.objects.exists()


def test_outsiders_see_no_storage(outsider_client, pool):
    for url in (reverse("storage:pools", args=[pool.host_id]), pool.get_absolute_url()):
        assert outsider_client.get(url).status_code == 404
    volume = pool.volumes.get()
    url = reverse("storage:volume-action", args=[pool.host_id, pool.pk, volume.pk, "delete"])
    assert outsider_client.post(url).status_code == 404
    assert outsider_client.post(reverse("storage:pool-action", args=[pool.host_id, pool.pk, "stop"])).status_code == 404
    assert not Operation.objects.exists()


def test_an_upload_without_a_file_says_what_is_missing(admin_client, pool):
    response = admin_client.post(pool.get_absolute_url(), {"upload-name": "x.iso"})
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == ["Choose the file to upload."]
    assert "Choose the file to upload." in response.content.decode()
    assert not Operation.objects.exists()
