"""The account pages in Simplified Chinese (account, two-factor enrolment and code, password change,
locked out, and the admins' user list and page, teams, publish box and delete pages): no English
words left beyond names, data and product names; and the refusals and flash messages these pages'
own code writes (SSH keys, tokens, codes, the sign-in delay, quotas, password resets) in Chinese too."""

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from lxml import html

from tests.accounts.test_ssh_keys import KEY
from tests.accounts.test_two_factor import app_code, enrolled, sign_in
from tests.conftest import UserFactory
from webvirt.accounts import quotas
from webvirt.accounts.models import Profile, Quota, Team
from webvirt.core.templatetags.webvirt import duration
from webvirt.guests.models import Flavor

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
ATTRIBUTES = ("title", "placeholder", "aria-label", "data-confirm", "data-confirm-verb")
DATA = (".//script", ".//style", ".//code", ".//textarea")  # code, keys and what was typed
# Names and data of these tests, product names and units, and the SSH key example of a refusal.
ALLOWED = {"lin", "ada", "eve", "bob", "ops", "small", "laptop", "ci", "SSH", "API", "api", "v", "TOTP", "vCPU"}
ALLOWED |= {"MiB", "GiB", "UTC", "ssh-ed", "AAAA", "ed", "ECDSA", "RSA"}


def english_words(page, part=".//main"):
    """Latin-letter words a reader sees in <main> (text and the attributes shown or read out)."""
    main = html.fromstring(page).find(part)
    for element in main.xpath("|".join(DATA)):
        element.drop_tree()
    texts = main.xpath(".//text()") + [
        element.get(name) for element in main.iter() if isinstance(element.tag, str) for name in ATTRIBUTES
    ]
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", " ".join(str(text) for text in texts if text))
    return sorted(set(words) - ALLOWED)


def errors(page):
    return [error.text_content() for error in html.fromstring(page).xpath("//main//p[@class='error']")]


def chinese(client, url, status=200):
    response = client.get(url, **ZH)
    assert response.status_code == status and '<html lang="zh-hans">' in response.text
    return response.text


def test_account_page_in_chinese(client, db, make_token):
    user = UserFactory(username="lin", is_staff=True)  # an admin: the "not limited" line shows too
    client.force_login(user)
    account = reverse("accounts:account")
    assert client.post(account, {"name": "laptop", "public_key": KEY}, **ZH).status_code == 302
    make_token(user, name="ci", expires_at=timezone.now() + timedelta(days=30))
    response = client.post(account, {"token-name": "deploy", "token-scope": "read"}, **ZH)
    assert response.status_code == 302
    page = chinese(client, account)
    assert english_words(page.replace("deploy", "")) == []
    assert "请立即复制新令牌" in page and "从未" in page and "永不" in page  # the new key; never used, never expires
    assert "虚拟机" in page and "内存（MiB）" in page  # the usage table's labels  # noqa: RUF001
    enrolled(user)
    assert english_words(chinese(client, account).replace("deploy", "")) == []


def test_account_refusals_in_chinese(client, db, make_token):
    user = UserFactory(username="lin")
    client.force_login(user)
    make_token(user, name="ci")
    account = reverse("accounts:account")
    response = client.post(account, {"name": "laptop", "public_key": "hello"}, **ZH)
    assert response.status_code == 400 and english_words(response.text) == []
    assert errors(response.text) == ["这不是 SSH 公钥（例如 ssh-ed25519 AAAA… 注释）。"]  # noqa: RUF001
    response = client.post(account, {"name": "laptop", "public_key": "ssh-foo AAAAB3NzaC1yc2EAAAADAQABAAABAQ"}, **ZH)
    assert errors(response.text) == ["不支持此类型的 SSH 密钥：请使用 ed25519、ECDSA 或 RSA。"]  # noqa: RUF001
    response = client.post(account, {"token-name": "ci", "token-scope": "read"}, **ZH)
    assert response.status_code == 400 and "你已有名为 ci 的令牌。" in response.text
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    response = client.post(account, {"token-name": "old", "token-scope": "read", "token-expires_at": past}, **ZH)
    assert response.status_code == 400 and "到期时间必须晚于现在。" in response.text


def test_two_factor_enrolment_in_chinese(client, db, settings):
    settings.WEBVIRT_REQUIRE_2FA = "everyone"  # the page's "this site requires it" warning shows too
    client.force_login(UserFactory(username="ada"))
    page = chinese(client, reverse("accounts:two-factor"))
    assert english_words(page) == [] and "本站要求你的账户使用双因素登录" in page
    secret = html.fromstring(page).xpath("//code[@data-totp-secret]")[0].text
    response = client.post(reverse("accounts:two-factor"), {"code": app_code(secret)}, **ZH)
    assert response.status_code == 302
    page = chinese(client, reverse("accounts:two-factor"))  # recovery codes, shown once, and "turn it off"
    assert english_words(page) == [] and "恢复码" in page and "<strong>已开启</strong>" in page


def test_sign_in_code_page_and_its_refusals_in_chinese(client, db, settings):
    settings.WEBVIRT_LOGIN_FREE_FAILURES = 1
    enrolled(UserFactory(username="ada"))
    sign_in(client, "ada")
    assert english_words(chinese(client, reverse("accounts:two-factor-verify"))) == []
    with translation.override("zh-hans"):  # the API through a half signed-in session
        response = client.get(reverse("api:host-list"), **ZH)
    assert response.status_code == 403 and response.json() == {"detail": "此会话尚未完成双因素登录。"}
    wrong = client.post(reverse("accounts:two-factor-verify"), {"code": "000000"}, REMOTE_ADDR="10.1.1.1", **ZH)
    assert wrong.status_code == 400 and english_words(wrong.text) == []
    assert errors(wrong.text) == ["验证码不正确（或已被使用）。请输入应用当前显示的验证码。"]  # noqa: RUF001
    waiting = client.post(reverse("accounts:two-factor-verify"), {"code": "000000"}, REMOTE_ADDR="10.1.1.1", **ZH)
    assert re.fullmatch(r"此账户登录失败次数过多，请在 \d+ 秒后重试。", errors(waiting.text)[0])  # noqa: RUF001


def test_password_change_page_in_chinese(client, db):
    client.force_login(UserFactory(username="lin"))
    assert english_words(chinese(client, reverse("accounts:password"))) == []
    data = {"old_password": "wrong", "new_password1": "x", "new_password2": "y"}
    response = client.post(reverse("accounts:password"), data, **ZH)
    assert response.status_code == 200 and errors(response.text) and english_words(response.text) == []  # Django's


def test_locked_out_page_in_chinese(client, db, settings):
    UserFactory(username="eve")
    for _ in range(5):
        response = client.post(reverse("login"), {"username": "eve", "password": "nope"}, REMOTE_ADDR="10.9.9.9", **ZH)
    assert response.status_code == 429 and "登录失败次数过多" in response.text
    with translation.override("zh-hans"):  # how long, in words: the duration filter's (core's) own
        wait = duration(timedelta(hours=settings.AXES_COOLOFF_TIME))
    assert wait in response.text and english_words(response.text.replace(wait, "")) == []


def test_quota_refusal_in_chinese(db):
    user = UserFactory(username="lin")
    Quota.objects.create(user=user, max_guests=0, max_vcpus=1, max_memory_mib=0, max_disk_gib=0)
    with translation.override("zh-hans"), transaction.atomic(), pytest.raises(quotas.QuotaExceeded) as refused:
        quotas.reserve(user, {"guests": 1, "vcpus": 2})
    assert refused.value.messages == [
        "超出 lin 的配额：虚拟机：上限 0，已用 0（含排队中的任务），申请 1；"  # noqa: RUF001
        "vCPU：上限 1，已用 0（含排队中的任务），申请 2。"  # noqa: RUF001
    ]


def test_admin_pages_in_chinese(client, db, make_token):
    admin = UserFactory(username="lin", is_staff=True)
    bob = UserFactory(username="bob")
    make_token(bob, name="ci")
    enrolled(bob)
    client.force_login(admin)
    users = chinese(client, reverse("accounts:users"))
    assert english_words(users) == [] and "添加用户" in users and "已停用" not in users
    page = chinese(client, reverse("accounts:user", args=[bob.pk]))
    assert english_words(page) == [] and "重置密码" in page and "重置双因素登录" in page
    response = client.post(reverse("accounts:user-action", args=[bob.pk, "reset-password"]), follow=True, **ZH)
    assert "bob 的新密码：" in response.text  # noqa: RUF001
    response = client.post(reverse("accounts:user-action", args=[bob.pk, "disable"]), follow=True, **ZH)
    assert english_words(response.text) == [] and "bob 已停用。" in response.text
    team = Team.objects.create(name="ops")
    team.members.add(bob)
    assert english_words(chinese(client, reverse("accounts:teams"))) == []
    assert english_words(chinese(client, reverse("accounts:team", args=[team.pk]))) == []
    assert english_words(chinese(client, reverse("accounts:team-delete", args=[team.pk]))) == []
    assert english_words(chinese(client, reverse("accounts:user-delete", args=[bob.pk]))) == []


def test_password_reset_refusal_in_chinese(client, db):
    client.force_login(UserFactory(username="lin", is_staff=True))
    bob = UserFactory(username="bob")
    Profile.objects.create(user=bob, directory="ldap")
    assert "重置密码" not in chinese(client, reverse("accounts:user", args=[bob.pk]))
    response = client.post(reverse("accounts:user-action", args=[bob.pk, "reset-password"]), follow=True, **ZH)
    assert "bob 通过 LDAP 登录：其密码需在那里更改，而不是在 webvirt 中。" in response.text  # noqa: RUF001


def test_publish_box_in_chinese(client, db):
    client.force_login(UserFactory(username="lin", is_staff=True))
    Team.objects.create(name="ops")
    Flavor.objects.create(name="small", vcpus=1, memory_mib=256, disk_gib=2)
    page = chinese(client, reverse("guests:flavors"))
    assert english_words(page, ".//details[@class='publish']") == [] and "对所有人开放" in page
