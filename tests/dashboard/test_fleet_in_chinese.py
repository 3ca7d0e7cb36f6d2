"""The fleet's pages (dashboard, hosts, storage, networks, graphs) in Simplified Chinese: no English
words of theirs left beyond names, data and product names; their refusals, flash messages and
Operation messages in Chinese too (an Operation in the language of whoever started it)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from lxml import html

from webvirt.core.models import Operation
from webvirt.hypervisor import TRANSPORTS
from webvirt.hypervisor.networks import FORWARD_MODES, VIRTUALPORTS

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ATTRIBUTES = ("title", "placeholder", "aria-label", "data-confirm", "data-confirm-verb")
# Parts other areas render inside these pages (the operations table, publication, quotas, the
# hypervisor's labels, "… ago"): their own tests check their words.
OTHERS = (
    "//details[@class='publish']",
    "//table[contains(@class, 'usage')]",
    "//*[contains(@id, 'operations')]",
    "//select[@name='transport']",
)
OTHER_LABELS = [*TRANSPORTS.values(), *FORWARD_MODES.values(), *VIRTUALPORTS.values()]
AGO = re.compile(r"\d+\W+\w+ ago")
URI = re.compile(r"\w+:///\S*")
# Names and data of the fixtures, units, product and protocol names, and code shown as code.
ALLOWED = set(
    """store images lan virbr debian iso disks dir raw qcow img test TEST UTC vm i
    GiB MiB KiB vCPU vCPUs CPU BIOS UEFI KVM TCG libvirt webvirt virsh pool-edit net-edit XML
    VNC SSH TCP TLS SASL CA PEM OpenSSH KSM ISO IPv DHCP NAT MAC VLAN ID LVM NFS Linux Open vSwitch
    known_hosts br br-vlan vlan id""".split()  # noqa: SIM905
)


def english_words(page):
    """English words a reader sees in the page's main part (text and the attributes read aloud)."""
    main = html.fromstring(page).find(".//main")
    for other in main.xpath("|".join(f".{path}" for path in OTHERS)) + main.xpath(".//script|.//style|.//code"):
        other.drop_tree()
    texts = main.xpath(".//text()") + [
        element.get(name) for element in main.iter() if isinstance(element.tag, str) for name in ATTRIBUTES
    ]
    text = " ".join(str(t) for t in texts if t)
    for label in OTHER_LABELS:
        text = text.replace(str(label), " ")
    text = URI.sub(" ", AGO.sub(" ", text))
    return {word for word in re.findall(r"[A-Za-z][A-Za-z_'-]*", text) if word not in ALLOWED}


@pytest.fixture
def fleet(storage_host):
    storage_host.maintenance_since, storage_host.maintenance_reason = timezone.now(), "disks"
    storage_host.save()
    return storage_host


def _pages(host):
    pool, network = host.pools.get(name="images"), host.networks.get()
    return [
        reverse("home"),
        reverse("hosts:list"),
        host.get_absolute_url(),
        reverse("hosts:add"),
        reverse("hosts:edit", args=[host.pk]),
        reverse("hosts:delete", args=[host.pk]),
        reverse("storage:pools", args=[host.pk]),
        pool.get_absolute_url(),
        reverse("networks:list", args=[host.pk]),
        network.get_absolute_url(),
    ]


def test_fleet_pages_in_chinese_show_no_english_words(admin_client, fleet):
    left = {}
    for url in _pages(fleet):
        response = admin_client.get(url, **ZH)
        assert response.status_code == 200 and '<html lang="zh-hans">' in response.text
        if words := english_words(response.text):
            left[url] = sorted(words)
    assert left == {}


def test_the_same_pages_in_english_are_caught(admin_client, fleet):
    """The check above sees English when there is some: the pages as an English reader gets them."""
    for url in _pages(fleet):
        assert english_words(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en").text), url


def test_a_host_without_open_hosts_reads_chinese_to_a_user(outsider_client, fleet):
    page = outsider_client.get(reverse("hosts:list"), **ZH).text
    assert "还没有向你开放的宿主机" in page and not english_words(page)


def test_refusals_and_flash_messages_in_chinese(admin_client, fleet):
    url = reverse("networks:list", args=[fleet.pk])
    response = admin_client.post(url, {"name": "n1", "mode": "nat", "ipv4_cidr": "10.9.0.254/16"}, **ZH)
    assert response.status_code == 400 and "与网络 lan（10.9.0.1/24）重叠" in response.text  # noqa: RUF001
    pool = fleet.pools.get(name="images")
    too_big = {"new-name": "v1", "new-format": "raw", "new-size_gib": "101"}
    response = admin_client.post(pool.get_absolute_url(), too_big, **ZH)
    assert "101 GiB 超过了存储池的空闲空间（" in response.text  # noqa: RUF001
    upload = SimpleUploadedFile("notes.txt", b"hello")
    response = admin_client.post(pool.get_absolute_url(), {"upload-file": upload}, **ZH)
    assert "这不是 ISO 镜像" in response.text
    response = admin_client.post(reverse("hosts:maintenance-enter", args=[fleet.pk]), follow=True, **ZH)
    assert "store 已处于维护模式。" in response.text
    response = admin_client.post(reverse("hosts:resync", args=[fleet.pk]), follow=True, **ZH)
    assert "正在刷新 store。" in response.text


def test_operations_are_written_in_the_language_of_whoever_asked(
    admin_client, fleet, django_capture_on_commit_callbacks
):
    url = reverse("storage:pools", args=[fleet.pk])
    data = {"name": "scratch", "kind": "dir", "target_path": "/var/lib/libvirt/images/scratch"}
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, data, **ZH)
        admin_client.post(reverse("hosts:resync", args=[fleet.pk]), **ZH)
    created = Operation.objects.get(kind="pool.create")
    assert (created.status, created.message) == ("succeeded", "存储池 scratch 已创建并启动。")
    assert created.target == "store 上的 scratch"
    refreshed = Operation.objects.get(kind="host.resync")
    assert refreshed.message.startswith("store：") and "2 个存储池；1 个网络。" in refreshed.message  # noqa: RUF001
    with translation.override("zh-hans"):
        assert str(created.label) == "创建存储池"
