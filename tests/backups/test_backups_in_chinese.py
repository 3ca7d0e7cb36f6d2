"""The backup pages in Simplified Chinese: no English beyond names, data and units."""

from django.urls import reverse

from tests.guests.test_guests_in_chinese import _data, alpha, chinese, english_words  # noqa: F401 (fixtures)
from webvirt.backups.models import Backup, BackupPool, BackupSchedule
from webvirt.storage.models import Pool


def test_backup_pages_speak_chinese(chinese, alpha, admin):  # noqa: F811
    pool = Pool.objects.create(host=alpha.host, uuid="0b5e6f3a-0000-4000-8000-000000000009", name="bk", state="active")
    BackupPool.objects.create(host=alpha.host, pool=pool)
    BackupSchedule.objects.create(guest=alpha, frequency="weekly", at="02:30")
    backup = Backup.objects.create(
        guest=alpha,
        guest_name=alpha.name,
        owner=admin,
        host=alpha.host,
        pool_uuid=pool.uuid,
        pool_name=pool.name,
        status=Backup.Status.SUCCEEDED,
        frozen=True,
        size_bytes=2**20,
        volumes=[{"target": "vda", "name": "alpha-backup-1-vda.qcow2", "capacity": 2**30, "allocation": 2**20}],
    )
    pages = {
        "tab": f"{alpha.get_absolute_url()}?tab=backups",
        "restore": reverse("backups:restore", args=[backup.pk]),
        "list": reverse("backups:list"),
        "pools": reverse("backups:pools"),
    }
    left = {}
    for name, url in pages.items():
        response = chinese.get(url)
        assert response.status_code == 200, name
        if words := english_words(response.content.decode(), _data(alpha, admin) | {"bk", "MB"}):
            left[name] = words
    assert not left, left
