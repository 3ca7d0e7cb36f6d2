"""The REST API over HTTP, with a personal token, a real Celery worker process, Redis and the local
libvirtd: upload an ISO (and check its sum on the host), create a guest from it, follow its
Operations, stop, start, snapshot and delete it."""

import hashlib
import shutil
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import UserFactory
from webvirt.accounts.actions import NewToken
from webvirt.core.actions import perform

from .conftest import IMAGES, domain_state, virsh

pytestmark = [pytest.mark.libvirtd, pytest.mark.e2e]

ISO = Path("/usr/lib/ipxe/ipxe.iso")


class Api:
    def __init__(self, base_url, key):
        self.base_url = f"{base_url}/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def __call__(self, method, path, expect, **kwargs):
        response = self.session.request(method, f"{self.base_url}{path}", timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if response.content else None

    def follow(self, operation, timeout=120):
        """Poll the Operation until it is finished; it must succeed."""
        deadline = time.monotonic() + timeout
        while not operation["is_finished"]:
            assert time.monotonic() < deadline, f"{operation['kind']} still {operation['status']}"
            time.sleep(0.5)
            operation = self("get", f"/operations/{operation['id']}/", 200)
        assert operation["status"] == "succeeded", operation["message"]
        return operation


@pytest.fixture
def scratch_pool(local_host):
    """A transient directory pool of this test's own, removed afterwards with whatever it holds."""
    name = f"webvirt-api-{uuid.uuid4().hex[:8]}"
    directory = IMAGES / name
    directory.mkdir()
    virsh("pool-create-as", name, "dir", "--target", str(directory))
    yield name, directory
    for volume in virsh("vol-list", name, "--name", check=False).stdout.split():
        virsh("vol-delete", volume, "--pool", name, check=False)
    virsh("pool-destroy", name, check=False)
    shutil.rmtree(directory, ignore_errors=True)


def test_upload_create_power_snapshot_delete_through_the_api(start_app, local_host, scratch_pool):
    pool_name, directory = scratch_pool
    admin = UserFactory(username="api-admin", is_staff=True)
    _, key = perform("token.create", actor=admin, target=admin, params=NewToken("e2e", "write"))
    api = Api(start_app(), key)

    api.follow(api("post", f"/hosts/{local_host.pk}/resync/", 202))
    pools = api("get", f"/pools/?host={local_host.pk}&limit=1000", 200)["results"]
    (pool,) = [p for p in pools if p["name"] == pool_name]
    with ISO.open("rb") as image:
        files = {"file": ("boot.iso", image)}
        upload = api("post", f"/pools/{pool['id']}/upload/", 202, files=files, data={"name": "boot.iso"})
    api.follow(upload)
    (iso,) = api("get", f"/volumes/?pool={pool['id']}", 200)["results"]
    assert iso["name"] == "boot.iso"
    assert hashlib.sha256((directory / "boot.iso").read_bytes()).digest() == hashlib.sha256(ISO.read_bytes()).digest()

    name = f"webvirt-api-{uuid.uuid4().hex[:6]}"
    body = {"host": local_host.pk, "name": name, "vcpus": 1, "memory_mib": 64, "disk_gib": 1}
    body |= {"pool": pool["id"], "source": "iso", "iso": iso["id"], "firmware": "bios", "start": True}
    created = api.follow(api("post", "/guests/", 202, json=body))
    guest = created["guest"]
    try:
        assert domain_state(name) in {"running", "paused"}  # paused: iPXE under this machine's nested KVM
        api.follow(api("post", f"/guests/{guest}/power/", 202, json={"action": "destroy"}))
        assert domain_state(name) == "shut off"
        api.follow(api("post", f"/guests/{guest}/changes/snapshot_create/", 202, json={"name": "before"}))
        assert [s["name"] for s in api("get", f"/guests/{guest}/", 200)["snapshots"]] == ["before"]
        api.follow(api("post", f"/guests/{guest}/power/", 202, json={"action": "start"}))
        api.follow(api("delete", f"/guests/{guest}/?remove_volumes=true", 202))
        assert api("get", f"/guests/{guest}/?gone=true", 200)["gone_at"]
        assert virsh("dominfo", name, check=False).returncode != 0
        assert not (directory / f"{name}.qcow2").exists()
        assert (directory / "boot.iso").exists()  # shared media are never deleted with a guest
    finally:
        virsh("destroy", name, check=False)
        virsh("undefine", name, "--snapshots-metadata", "--nvram", check=False)
