"""Backups on the test driver: who may, refusals, quota counting, the tab, the pools page, the API.
Backing up itself needs QEMU: tests/integration/test_backups.py."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from tests.conftest import UserFactory
from webvirt.accounts.models import Quota
from webvirt.accounts.quotas import usage
from webvirt.backups.actions import BackupRequest, RestoreRequest, Schedule
from webvirt.backups.models import Backup, BackupPool, BackupSchedule
from webvirt.core.actions import perform
from webvirt.core.models import AuditEvent, Operation
from webvirt.guests.models import Grant, Guest
from webvirt.storage.models import Pool, Volume

GIB = 2**30
DEFINITION = "<domain type='test'><name>alpha</name><memory unit='MiB'>128</memory><vcpu>1</vcpu></domain>"
SCHEDULE = Schedule(enabled=True, frequency="daily", at="02:30")


@pytest.fixture
def owner(db):
    user = UserFactory(username="olga")
    Quota.objects.create(user=user, max_guests=5, max_vcpus=8, max_memory_mib=8192, max_disk_gib=10)
    return user


@pytest.fixture
def guest(test_host, owner):
    guest = Guest.objects.get(host=test_host, name="alpha")
    guest.owner = owner
    guest.save()
    return guest


@pytest.fixture
def backup_pool(test_host):
    pool = Pool.objects.create(
        host=test_host, uuid="0b5e6f3a-0000-4000-8000-000000000001", name="backups", state="active"
    )
    BackupPool.objects.create(host=test_host, pool=pool)
    return pool


def backup_of(guest, **fields):
    return Backup.objects.create(
        guest=guest,
        guest_name=guest.name,
        owner=guest.owner,
        host=guest.host,
        pool_uuid="0b5e6f3a-0000-4000-8000-000000000001",
        pool_name="backups",
        status=Backup.Status.SUCCEEDED,
        definition=DEFINITION,
        volumes=[{"target": "vda", "name": "alpha-backup-1-vda.qcow2", "capacity": 2 * GIB, "allocation": GIB}],
        **fields,
    )


def test_a_backup_counts_against_its_owners_disk_quota_by_the_space_it_takes(guest, owner):
    before = usage(owner)["disk_gib"]
    backup_of(guest, size_bytes=GIB + 1)
    assert usage(owner)["disk_gib"] == before + 2  # GiB rounded up


def test_without_a_backup_pool_the_backup_is_refused(guest, owner):
    with pytest.raises(
        ValidationError, match=re.escape("testhost has no backup pool: an admin must choose one first.")
    ):
        perform("guest.backup", actor=owner, target=guest, params=BackupRequest())
    assert not Operation.objects.filter(kind="guest.backup").exists()


def test_an_inactive_backup_pool_is_refused(guest, owner, backup_pool):
    Pool.objects.filter(pk=backup_pool.pk).update(state="inactive")
    with pytest.raises(ValidationError, match=re.escape("The backup pool backups of testhost is not active.")):
        perform("guest.backup", actor=owner, target=guest, params=BackupRequest())


def test_a_backup_that_would_pass_the_owners_quota_is_refused(guest, owner, backup_pool):
    Volume.objects.create(pool=backup_pool, name="alpha.qcow2", path="/images/alpha.qcow2", allocation=11 * GIB)
    with pytest.raises(ValidationError, match="Over olga's quota"):
        perform("guest.backup", actor=owner, target=guest, params=BackupRequest())
    Quota.objects.filter(user=owner).update(max_disk_gib=100)
    operation = perform("guest.backup", actor=owner, target=guest, params=BackupRequest())
    assert operation.params["reservation"] == {"disk_gib": 11}


def test_roles_decide_who_backs_up_and_who_restores(guest, owner, backup_pool):
    viewer, operator = UserFactory(username="vic"), UserFactory(username="opal")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    Grant.objects.create(guest=guest, user=operator, role="operator")
    with pytest.raises(PermissionDenied, match=re.escape("This needs the operator role on alpha.")):
        perform("guest.backup", actor=viewer, target=guest, params=BackupRequest())
    perform("guest.backup", actor=operator, target=guest, params=BackupRequest())
    backup = backup_of(guest)
    with pytest.raises(PermissionDenied, match=re.escape("This needs the editor role on the guest.")):
        perform("backup.restore", actor=operator, target=backup, params=RestoreRequest(mode="over"))
    with pytest.raises(PermissionDenied):
        perform("backup.delete", actor=operator, target=backup)
    assert list(Backup.objects.restrict(operator, "backup.view")) == [backup]
    assert not Backup.objects.restrict(viewer, "backup.view").exists()


def test_a_second_backup_waits_for_the_first(guest, owner, backup_pool):
    perform("guest.backup", actor=owner, target=guest, params=BackupRequest())
    with pytest.raises(ValidationError, match=re.escape("A backup of alpha is already queued or running.")):
        perform("guest.backup", actor=owner, target=guest, params=BackupRequest())


def test_restore_refusals(guest, owner, backup_pool):
    backup = backup_of(guest)
    with pytest.raises(ValidationError, match=re.escape("Shut alpha down before restoring over it.")):
        perform("backup.restore", actor=owner, target=backup, params=RestoreRequest(mode="over"))
    with pytest.raises(ValidationError, match="Use up to 100 letters"):
        perform("backup.restore", actor=owner, target=backup, params=RestoreRequest(mode="new", name="a b"))
    with pytest.raises(ValidationError, match=re.escape("testhost is not open to you for new guests.")):
        perform("backup.restore", actor=owner, target=backup, params=RestoreRequest(mode="new", name="copy"))
    running = backup_of(guest, size_bytes=0)
    Backup.objects.filter(pk=running.pk).update(status=Backup.Status.RUNNING)
    running.refresh_from_db()
    with pytest.raises(ValidationError, match=re.escape("Only a complete backup can be used.")):
        perform("backup.restore", actor=owner, target=running, params=RestoreRequest(mode="over"))
    with pytest.raises(ValidationError, match=re.escape("This backup is still being made.")):
        perform("backup.delete", actor=owner, target=running)


def test_restoring_to_a_new_guest_counts_against_the_restorers_quota(guest, admin, owner, backup_pool):
    backup = backup_of(guest)
    Host = type(guest.host)
    Host.objects.filter(pk=guest.host_id).update(public=True)
    Quota.objects.filter(user=owner).update(max_disk_gib=1)
    Pool.objects.filter(pk=backup_pool.pk).update(public=True)
    params = RestoreRequest(mode="new", name="copy", pool_uuid=backup_pool.uuid)
    with pytest.raises(ValidationError, match="Over olga's quota"):
        perform("backup.restore", actor=owner, target=backup, params=params)
    operation = perform("backup.restore", actor=admin, target=backup, params=params)
    assert operation.params["target"] == {"backup_id": backup.pk}


def test_a_schedule_is_set_and_audited(guest, owner, backup_pool):
    perform("backup-schedule.set", actor=owner, target=guest, params=SCHEDULE)
    schedule = BackupSchedule.objects.get(guest=guest)
    assert (schedule.frequency, str(schedule.at), schedule.set_by) == ("daily", "02:30:00", owner)
    assert AuditEvent.objects.filter(action="backup-schedule.set", actor=owner).exists()


def test_a_schedule_needs_a_backup_pool(guest, owner):
    with pytest.raises(ValidationError, match="no backup pool"):
        perform("backup-schedule.set", actor=owner, target=guest, params=SCHEDULE)


def test_the_tab_lists_backups_and_offers_what_the_role_allows(client, guest, owner, backup_pool):
    backup_of(guest, size_bytes=3 * 2**20)
    client.force_login(owner)
    page = client.get(f"{guest.get_absolute_url()}?tab=backups").content.decode()
    assert "Back up now" in page and "3.0\xa0MB" in page and "Restore…" in page
    assert 'for="id_schedule_keep_last">Keep the last</label>' in page
    viewer = UserFactory(username="vic")
    Grant.objects.create(guest=guest, user=viewer, role="viewer")
    client.force_login(viewer)
    assert client.get(f"{guest.get_absolute_url()}?tab=backups").status_code == 403


def test_the_schedule_form_refuses_bad_input(client, guest, owner, backup_pool):
    client.force_login(owner)
    url = reverse("backups:schedule", args=[guest.pk])
    data = {"enabled": "on", "frequency": "daily", "weekday": "0", "at": "25:99", "keep_last": "0"}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert not BackupSchedule.objects.exists()
    data |= {"at": "02:30", "keep_daily": "0", "keep_weekly": "0"}
    response = client.post(url, data, follow=True)
    assert "Keep at least one backup." in response.content.decode()
    assert not BackupSchedule.objects.exists()


def test_the_restore_page_refuses_bad_input_with_a_400(client, guest, owner, backup_pool):
    backup = backup_of(guest)
    client.force_login(owner)
    url = reverse("backups:restore", args=[backup.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"mode": "new", "name": "../x"})
    assert response.status_code == 400 and not Operation.objects.exists()
    response = client.post(url, {"mode": "over"})
    assert response.status_code == 400 and "Shut alpha down before restoring over it." in response.content.decode()


def test_outsiders_see_nothing(outsider_client, guest, backup_pool):
    backup = backup_of(guest)
    assert outsider_client.get(reverse("backups:restore", args=[backup.pk])).status_code == 404
    assert outsider_client.get(reverse("backups:download", args=[backup.pk, "vda"])).status_code == 404
    assert outsider_client.post(reverse("backups:now", args=[guest.pk])).status_code == 404
    assert outsider_client.get(reverse("backups:pools")).status_code == 403
    assert "No backups." in outsider_client.get(reverse("backups:list")).content.decode()


def test_admins_choose_the_backup_pool(admin_client, test_host):
    pool = Pool.objects.create(host=test_host, uuid="0b5e6f3a-0000-4000-8000-000000000002", name="bk", state="active")
    page = admin_client.get(reverse("backups:pools")).content.decode()
    assert "testhost" in page
    page = admin_client.post(reverse("backups:pool-set", args=[test_host.pk]), {"pool": pool.pk}, follow=True)
    assert BackupPool.objects.get(host=test_host).pool == pool
    assert "Backups of testhost now go to bk." in page.content.decode()
    page = admin_client.post(reverse("backups:pool-set", args=[test_host.pk]), {"pool": ""}, follow=True)
    assert not BackupPool.objects.exists()
    assert "testhost has no backup pool now." in page.content.decode()
    assert AuditEvent.objects.filter(action="backup-pool.set").count() == 2


def test_the_api_lists_backs_up_and_refuses(api, make_token, guest, owner, backup_pool, outsider):
    backup = backup_of(guest)
    _row, key = make_token(owner)
    client = api(key)
    listing = client.get("/api/v1/backups/").json()
    assert [item["id"] for item in listing["results"]] == [backup.pk]
    response = client.post("/api/v1/backups/", {"guest": guest.pk}, format="json")
    assert response.status_code == 202 and response.json()["kind"] == "guest.backup"
    response = client.post(f"/api/v1/backups/{backup.pk}/restore/", {"mode": "new", "name": "x y"}, format="json")
    assert response.status_code == 400 and "name" in response.json()["fields"]
    _row, other = make_token(outsider)
    assert api(other).post("/api/v1/backups/", {"guest": guest.pk}, format="json").status_code == 404
    assert api(other).get(f"/api/v1/backups/{backup.pk}/").status_code == 404


def test_a_queued_backup_can_be_cancelled_and_none_other(client, guest, owner, backup_pool):
    with pytest.raises(ValidationError, match=re.escape("No backup of alpha is queued or running.")):
        perform("guest.backup-cancel", actor=owner, target=guest)
    operation = perform("guest.backup", actor=owner, target=guest, params=BackupRequest())
    client.force_login(owner)
    assert "Cancel backup" in client.get(f"{guest.get_absolute_url()}?tab=backups").content.decode()
    client.post(reverse("backups:cancel", args=[guest.pk]))
    operation.refresh_from_db()
    assert operation.cancel_requested_at is not None


def test_a_backup_outlives_its_guest_and_a_missing_volume_is_said_not_streamed(client, pool, owner):
    """A deleted guest's backup is its owner's; a volume gone from the pool is a message, not a broken file."""
    backup = Backup.objects.create(
        guest=None,
        guest_name="gone",
        owner=owner,
        host=pool.host,
        pool_uuid=pool.uuid,
        pool_name=pool.name,
        status=Backup.Status.SUCCEEDED,
        volumes=[{"target": "vda", "name": "gone-backup-1-vda.qcow2", "capacity": GIB, "allocation": GIB}],
    )
    client.force_login(owner)
    assert "gone" in client.get(reverse("backups:list")).content.decode()
    response = client.get(reverse("backups:download", args=[backup.pk, "vda"]), follow=True)
    assert response.redirect_chain == [(reverse("backups:list"), 302)]
    assert escape("There is no volume 'gone-backup-1-vda.qcow2' in pool 'images'.") in response.content.decode()
    assert client.get(reverse("backups:download", args=[backup.pk, "vdz"])).status_code == 404


def test_two_beats_in_one_minute_take_a_schedule_once(guest, owner):
    """Beat may run twice for availability: the second run within the minute does nothing."""
    import datetime

    from django.utils import timezone

    from webvirt.backups.tasks import run_schedules

    schedule = BackupSchedule.objects.create(guest=guest, at=datetime.time(0, 0), set_by=owner)
    BackupSchedule.objects.update(created_at=timezone.now() - datetime.timedelta(days=2))
    run_schedules.apply()
    schedule.refresh_from_db()
    assert schedule.last_run_at is not None
    BackupSchedule.objects.update(last_run_at=None)
    run_schedules.apply()  # the other beat
    schedule.refresh_from_db()
    assert schedule.last_run_at is None


def test_the_tab_says_when_a_guest_has_no_schedule_and_which_day_a_weekly_one_runs(client, guest, owner):
    import datetime

    client.force_login(owner)
    url = reverse("guests:detail", args=[guest.pk]) + "?tab=backups"
    assert "No schedule yet" in client.get(url).content.decode()
    BackupSchedule.objects.create(guest=guest, frequency="weekly", weekday=2, at=datetime.time(3, 30), set_by=owner)
    page = client.get(url).content.decode()
    assert "Backed up every Wednesday at 03:30 UTC." in page and "No schedule yet" not in page
