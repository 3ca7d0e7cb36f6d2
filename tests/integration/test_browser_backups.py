"""In Chromium, on the real libvirtd with a real worker: an admin chooses the backup pool; the
guest's owner backs up the running guest and downloads its disk; an editor restores it to a new
guest; a viewer is offered none of it; the tab and the restore page in Chinese, with a refusal.
Screenshots in test-artifacts/backups/."""

import json
import shutil
import subprocess
import uuid

import pytest
from django.utils import translation

from tests.conftest import PASSWORD, UserFactory
from webvirt.backups.models import Backup
from webvirt.guests.models import Grant
from webvirt.storage.inventory import refresh_storage

from .conftest import ARTIFACTS, IMAGES, virsh
from .test_browser_consoles import CSP_WATCH

pytestmark = [pytest.mark.e2e, pytest.mark.libvirtd]
SHOTS = ARTIFACTS / "backups"


def sign_in(browser, base_url, username):
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.add_init_script(CSP_WATCH)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    expected = ("status of 400", "status of 403")  # the refusals this walk asks for on purpose
    page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not any(text in message.text for text in expected)
            and problems.append(f"console: {message.text}")
        ),
    )
    page.problems = problems
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{base_url}/")
    return page


def in_chinese(english):
    with translation.override("zh-hans"):
        return translation.gettext(english)


@pytest.fixture
def spare_pool(local_host):
    """An empty dir pool on the local libvirtd, for the admin to choose as the backup pool."""
    name = f"webvirt-backups-{uuid.uuid4().hex[:8]}"
    directory = IMAGES / name
    directory.mkdir()
    virsh("pool-create-as", name, "dir", "--target", str(directory))
    refresh_storage(local_host)
    yield local_host.pools.get(name=name)
    virsh("pool-destroy", name, check=False)
    shutil.rmtree(directory, ignore_errors=True)


def test_back_up_download_and_restore_in_the_browser_by_role(start_app, browser, running_guest, spare_pool, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    host, guest = running_guest.host, running_guest
    UserFactory(username="root-admin", is_staff=True)
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    guest.owner = alice
    guest.save(update_fields=["owner"])
    Grant.objects.create(guest=guest, user=bob, role="editor")
    Grant.objects.create(guest=guest, user=carol, role="viewer")
    guest_pool = host.pools.get(name=guest.disks.get(device="disk").source.split("/")[-2])
    for published in (host, guest_pool):
        published.public = True
        published.save(update_fields=["public"])
    base_url = start_app()
    tab = f"{base_url}{guest.get_absolute_url()}?tab=backups"
    restored_name = f"{guest.name}-restored"
    try:
        # The admin chooses where backups of this host go.
        admin = sign_in(browser, base_url, "root-admin")
        admin.goto(f"{base_url}/backups/pools/")
        row = admin.locator(f"tr[data-host='{host.name}']")
        row.locator("select").select_option(label=spare_pool.name)
        row.locator("button").click()
        admin.wait_for_selector(f"text=Backups of {host.name} now go to {spare_pool.name}.")
        assert admin.locator(f"tr[data-host='{host.name}'] select option:checked").inner_text() == spare_pool.name
        admin.screenshot(path=SHOTS / "admin-backup-pools.png", full_page=True)

        # The owner, a new account, backs up the running guest and sees it listed with its size.
        owner = sign_in(browser, base_url, "alice")
        owner.goto(tab)
        owner.screenshot(path=SHOTS / "owner-tab-before.png", full_page=True)
        owner.click("button:text('Back up now')")
        owner.wait_for_url(tab)
        owner.screenshot(path=SHOTS / "owner-backup-queued.png", full_page=True)
        done = "#backups tr[data-backup] a:text('Restore…')"
        owner.wait_for_selector(done, timeout=60_000)  # the tab follows the Operation live, no reload
        backup = Backup.objects.get(guest=guest)
        assert backup.status == "succeeded" and backup.size_bytes > 0
        row = owner.locator(f"#backups tr[data-backup='{backup.pk}']").inner_text()
        assert "vda" in row and ("KB" in row or "MB" in row), row
        owner.screenshot(path=SHOTS / "owner-backup-done.png", full_page=True)

        # ... and downloads its disk: a qcow2 image of the guest's disk size.
        with owner.expect_download() as caught:
            owner.click(f"#backups tr[data-backup='{backup.pk}'] a:text('vda')")
        downloaded = tmp_path / "vda.qcow2"
        caught.value.save_as(downloaded)
        info = json.loads(
            subprocess.run(
                ["qemu-img", "info", "--output=json", str(downloaded)], capture_output=True, text=True, check=True
            ).stdout
        )
        assert info["format"] == "qcow2" and info["virtual-size"] == backup.volumes[0]["capacity"]

        # An editor restores it to a new guest, into a pool opened to them.
        editor = sign_in(browser, base_url, "bob")
        editor.goto(tab)
        editor.click(f"#backups tr[data-backup='{backup.pk}'] a:text('Restore…')")
        editor.click("button.primary")  # no name yet: refused on the page
        assert "Name the new guest." in editor.locator("[data-field=name]").inner_text()
        editor.screenshot(path=SHOTS / "editor-restore-refused.png", full_page=True)
        editor.fill("input[name=name]", restored_name)
        editor.select_option("select[name=pool]", label=guest_pool.name)
        editor.click("button.primary")
        editor.wait_for_selector(f"text=Restore backup #{backup.pk} of {guest.name}", timeout=10_000)
        editor.screenshot(path=SHOTS / "editor-restore-queued.png", full_page=True)
        for _ in range(120):
            operation = bob.operation_set.filter(kind="backup.restore").first()
            if operation and operation.status in ("succeeded", "failed"):
                break
            editor.wait_for_timeout(500)
        assert operation.status == "succeeded", operation.message
        restored = host.guests.get(pk=operation.params["restored_guest_id"])
        assert (restored.name, restored.state, restored.owner) == (restored_name, "shutoff", bob)
        editor.goto(f"{base_url}{restored.get_absolute_url()}")
        editor.screenshot(path=SHOTS / "editor-restored-guest.png", full_page=True)

        # A viewer is offered no Backups tab, and the tab's address refuses in plain words.
        viewer = sign_in(browser, base_url, "carol")
        viewer.goto(f"{base_url}{guest.get_absolute_url()}")
        assert viewer.locator("nav.tabs a:text('Backups')").count() == 0
        response = viewer.goto(tab)
        assert response.status == 403
        viewer.screenshot(path=SHOTS / "viewer-refused.png", full_page=True)

        # The owner in Chinese: the tab, the restore page and its refusal.
        owner.goto(f"{base_url}/")
        owner.click("form.language button[lang=zh-hans]")
        owner.goto(tab)
        assert in_chinese("Back up now") in owner.locator("main").inner_text()
        owner.screenshot(path=SHOTS / "zh-owner-tab.png", full_page=True)
        owner.click(f"#backups tr[data-backup='{backup.pk}'] a.button")
        owner.click("button.primary")
        assert in_chinese("Name the new guest.") in owner.locator("[data-field=name]").inner_text()
        owner.screenshot(path=SHOTS / "zh-owner-restore-refused.png", full_page=True)
        for page in (admin, owner, editor, viewer):
            assert page.problems == [], page.problems
    finally:
        virsh("undefine", restored_name, check=False)
        for path in IMAGES.glob(f"*/{restored_name}-*"):
            path.unlink()
