"""The guests area in Simplified Chinese: every page and dialog of it, read as a zh-hans browser
would, shows no English words beyond names, data and product names (libvirt, VNC, MiB...)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from webvirt.core.models import Operation
from webvirt.guests.models import Flavor, Guest, Snapshot

# Product and protocol names, units and libvirt's own words, which stay in Latin letters.
ALLOWED = {
    "webvirt",
    "libvirt",
    "virsh",
    "edit",
    "KVM",
    "QEMU",
    "VNC",
    "XML",
    "ISO",
    "UUID",
    "MAC",
    "IP",
    "DHCP",
    "VLAN",
    "PXE",
    "BIOS",
    "UEFI",
    "OVMF",
    "CPU",
    "vCPU",
    "MiB",
    "GiB",
    "KiB",
    "cloud",
    "init",
    "config",
    "qemu",
    "guest",
    "agent",
    "qcow",
    "raw",
    "SSH",
    "Open",
    "vSwitch",
    "TCG",
    "ms",
    "test",
    "UTC",
    "B",
}
ATTRIBUTES = {"title", "placeholder", "aria-label", "data-confirm", "data-confirm-verb", "alt"}
SKIPPED = {"script", "style", "code", "pre"}  # code shows data (paths, names)
# What other areas put on these pages, which their own tests read: the quota table (accounts), who
# a flavor is open to (accounts), the usage graphs (metrics) and times ago (core).
OTHER_AREAS = {("table", "usage"), ("details", "publish"), ("section", "graphs"), ("time", None)}


class _Words(HTMLParser):
    """The words a reader sees in <main>: text and the attributes read out or shown on hover."""

    def __init__(self):
        super().__init__()
        self.inside_main = 0
        self.skipped = []  # the tags of the skipped elements we are in
        self.parts = []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.inside_main += 1
        classes = (dict(attrs).get("class") or "").split()
        if tag in SKIPPED or (tag, None) in OTHER_AREAS or any((tag, name) in OTHER_AREAS for name in classes):
            self.skipped.append(tag)
        elif self.skipped and tag == self.skipped[0]:
            self.skipped.append(tag)  # the same element nested in a skipped one
        if self.inside_main and not self.skipped:
            self.parts += [value or "" for name, value in attrs if name in ATTRIBUTES]

    def handle_endtag(self, tag):
        if tag == "main":
            self.inside_main -= 1
        if self.skipped and tag == self.skipped[-1]:
            self.skipped.pop()

    def handle_data(self, data):
        if self.inside_main and not self.skipped:
            self.parts.append(data)


def english_words(html, data):
    """Latin-letter words left once the names and data in `data` are taken out."""
    parser = _Words()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(r"\{\w+\}", " ", text)  # what confirm.js fills in: {target}, {new_owner}
    for value in sorted(filter(None, data), key=len, reverse=True):
        text = text.replace(value, " ")
    return sorted({word for word in re.findall(r"[A-Za-z]+", text) if word not in ALLOWED})


@pytest.fixture
def chinese(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    yield admin_client
    # The language middleware leaves the last request's language active in this thread: later
    # tests, which read English words outside any request, must not inherit Chinese.
    translation.deactivate()


@pytest.fixture
def alpha(test_host, admin):
    guest = Guest.objects.get(host=test_host, name="alpha")
    guest.owner = admin
    guest.save()
    Snapshot.objects.create(
        guest=guest, name="clean", created_at=timezone.now(), state="running", vcpus=guest.vcpus + 1, memory_mib=64
    )
    Flavor.objects.create(name="small", vcpus=1, memory_mib=512, disk_gib=5)
    return guest


def _pages(guest):
    detail = reverse("guests:detail", args=[guest.pk])
    return {
        "list": reverse("guests:list"),
        "list (all)": reverse("guests:list") + "?gone=1&sort=-memory",
        "new guest: hosts": reverse("guests:create") + "?host=",
        "new guest: one host": reverse("guests:create") + f"?host={guest.host_id}",
        "new guest: any host": reverse("guests:create") + "?host=any",
        **{f"guest: {tab}": f"{detail}?tab={tab}" for tab in ("summary", "console", "hardware", "snapshots")},
        "guest: access": f"{detail}?tab=access",
        "migrate": reverse("guests:migrate", args=[guest.pk]),
        "delete": reverse("guests:delete", args=[guest.pk]),
        "revert": reverse("guests:snapshot-revert", args=[guest.pk, guest.snapshots.get().pk]),
        "flavors": reverse("guests:flavors"),
        "tree": reverse("guests:tree"),
    }


def _data(guest, admin):
    """Names and values the pages show as they are."""
    host = guest.host
    words = {guest.name, host.name, admin.username, "beta", "small", "clean", guest.uuid, "default"}
    words |= {nic.mac for nic in guest.nics.all()} | {nic.source for nic in guest.nics.all()}
    for disk in guest.disks.all():  # libvirt's words for devices and buses are data too
        words |= {disk.source, disk.target, disk.device, disk.bus, disk.format}
    words |= {nic.kind for nic in guest.nics.all()} | {nic.model for nic in guest.nics.all()}
    words |= {pool.name for pool in host.pools.all()} | {network.name for network in host.networks.all()}
    return words | {guest.domain_type, host.acceleration}


def test_guest_pages_speak_chinese(chinese, alpha, admin):
    left = {}
    for name, url in _pages(alpha).items():
        response = chinese.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        if "<main" not in html:  # a fragment (the tree): all of it is the area's
            html = f"<main>{html}</main>"
        if words := english_words(html, _data(alpha, admin)):
            left[name] = words
    assert not left, "English left:\n" + "\n".join(f"{page}: {words}" for page, words in left.items())


def test_bulk_delete_and_its_outcome_speak_chinese(chinese, alpha, admin):
    ids = list(Guest.objects.values_list("pk", flat=True))
    page = chinese.post(reverse("guests:bulk"), {"guests": ids, "action": "delete"})
    assert english_words(page.content.decode(), _data(alpha, admin)) == []
    done = chinese.post(reverse("guests:bulk"), {"guests": ids, "action": "start"}, follow=True)
    assert "已为 2 台虚拟机排队启动" in done.content.decode()


def test_refusals_speak_chinese(chinese, alpha):
    response = chinese.post(reverse("guests:delete", args=[alpha.pk]), {"confirm_name": "wrong"})
    assert response.status_code == 400 and "请准确输入虚拟机名称以确认删除。" in response.content.decode()
    settings = {"name": "beta", "boot": "hd"}
    response = chinese.post(reverse("guests:change", args=[alpha.pk, "settings"]), settings, follow=True)
    assert "请先将虚拟机关机再重命名。" in response.content.decode()


def test_operations_are_written_in_chinese(chinese, alpha, django_capture_on_commit_callbacks):
    """The worker writes the messages of an Operation asked for in Chinese in Chinese, and its
    label follows whoever reads it."""
    with django_capture_on_commit_callbacks(execute=True):
        chinese.post(reverse("guests:change", args=[alpha.pk, "fs_freeze"]))
    operation = Operation.objects.filter(guest=alpha).latest("id")
    assert operation.status == "succeeded" and operation.message.startswith("已冻结 2 个文件系统。")
    page = chinese.get(f"{alpha.get_absolute_url()}?tab=operations").content.decode()
    assert "冻结文件系统" in page and "已冻结 2 个文件系统。" in page


def test_libvirt_state_reasons_read_in_chinese(chinese, alpha):
    """The inventory stores libvirt's reason in English (it is data of the row); pages show it in
    the reader's language."""
    Guest.objects.filter(pk=alpha.pk).update(state="shutoff", state_reason="It was forced off.")
    with translation.override("zh-hans"):
        words = translation.gettext("It was forced off.")
    assert words != "It was forced off."
    page = chinese.get(reverse("guests:detail", args=[alpha.pk])).content.decode()
    assert words in page and "It was forced off." not in page
