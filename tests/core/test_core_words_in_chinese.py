"""Core's own words in Chinese: the hypervisor's messages (written by the worker in the asker's
language, though the hypervisor package imports no Django), libvirt errors in plain words, time
words, refusals, the API's errors and the line a queued Operation leaves."""

from datetime import timedelta

import libvirt
import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from tests.conftest import UserFactory
from webvirt.core import flash, operations
from webvirt.core.lanes import run
from webvirt.core.templatetags.webvirt import ago, duration, outcome, took
from webvirt.guests.models import Guest
from webvirt.hosts.connections import connection_spec
from webvirt.hypervisor import HypervisorError, build_uri, power
from webvirt.hypervisor.errors import plain_words


def _power_on(operation):
    guest = Guest.objects.get(pk=operation.guest_id)
    return power(connection_spec(guest.host), guest.uuid, "start")


operations.register("test.power-on", "Power on", _power_on)


def test_the_worker_writes_the_hypervisors_words_in_the_askers_language(test_host):
    """A real call to the test driver: alpha already runs, and the host says so in Chinese."""
    alpha = test_host.guests.get(name="alpha")
    user = UserFactory(username="mei")
    with translation.override("zh-hans"):
        chinese = operations.enqueue(kind="test.power-on", actor=user, target="alpha", guest=alpha, host=test_host)
    english = operations.enqueue(kind="test.power-on", actor=user, target="alpha", guest=alpha, host=test_host)
    with translation.override("en"):  # the worker's own language does not matter
        run(chinese)
        run(english)
    chinese.refresh_from_db()
    english.refresh_from_db()
    assert (chinese.message, english.message) == ("已在运行。", "Already running.")


def test_hypervisor_refusals_and_libvirts_plain_words_follow_the_language():
    with translation.override("zh-hans"):
        with pytest.raises(HypervisorError, match="端口必须在 1 到 65535 之间"):
            build_uri("tcp", hostname="kvm01", port=70000)
        assert plain_words(libvirt.VIR_ERR_NO_DOMAIN, "").startswith("这台虚拟机在其宿主机上已不再有定义")
        assert plain_words(0, "cannot open: No space left on device").startswith("宿主机的磁盘空间已用完")
        error = HypervisorError("出错了。", detail="internal error: boom")
        assert error.full_text == "出错了。 libvirt 的原文\uff1ainternal error: boom"
    with translation.override("en"), pytest.raises(HypervisorError, match=r"The port must be between 1 and 65535\."):
        build_uri("tcp", hostname="kvm01", port=70000)


def test_time_words_in_chinese():
    now = timezone.now()
    with translation.override("zh-hans"):
        assert ">5 分钟前</time>" in ago(now - timedelta(minutes=5))
        assert ">1 天前</time>" not in ago(now - timedelta(days=4)) and ">4 天前</time>" in ago(now - timedelta(days=4))
        assert ago(None) == "从未"
        assert duration(timedelta(hours=2)) == "2 小时"
        assert took(now, now + timedelta(seconds=185)) == "3 分 5 秒"
        assert outcome("failed") == "失败" and outcome("unheard-of") == "unheard-of"
    with translation.override("en"):
        assert ">2 minutes ago</time>" in ago(now - timedelta(seconds=150))


def test_a_queued_line_says_its_state_in_the_language(db):
    user = UserFactory(username="kai")
    request = RequestFactory().get("/")
    request.session, request._messages = {}, _Messages()
    with translation.override("zh-hans"):
        operation = operations.enqueue(kind="test.power-on", actor=user, target="alpha")
        flash.queued(request, operation)
    assert request._messages.texts == ["Power on alpha\uff1a已排队。"]  # a full-width colon


class _Messages(list):
    """The messages a view adds, kept as said (the storage of contrib.messages needs a response)."""

    texts = property(lambda self: [str(message) for message, _ in self])

    def add(self, level, message, extra_tags=""):
        self.append((message, extra_tags))


def test_a_refusal_page_and_an_api_error_speak_chinese(client, db):
    client.force_login(UserFactory(username="lin"))
    page = client.get(reverse("accounts:users"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 403 and "只有管理员可以执行此操作。" in page.text
    answer = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 404 and answer.json() == {"code": "not_found", "message": "未找到。", "fields": {}}
    assert client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en").json()["message"] == "Not found."
