"""A console says why it closes in the user's language: the one chosen (in the session) first, else
the browser's Accept-Language, as pages do."""

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client

from webvirt.asgi import application
from webvirt.consoles import errors, tickets
from webvirt.core.middleware import LANGUAGE_SESSION_KEY

from .conftest import ORIGIN, ticket_for


def _close_reason(path, *, cookie="", accept_language=""):
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", ORIGIN)]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))

    async def run():
        client = WebsocketCommunicator(application, path, headers=headers, subprotocols=["binary"])
        accepted, _ = await client.connect()
        assert accepted
        message = await client.receive_output(timeout=5)
        await client.wait()
        return message["code"], message.get("reason", "")

    return async_to_sync(run)()


def test_a_refusal_follows_the_browsers_language(console_guest):
    path = f"/ws/console/{console_guest.pk}/"
    assert _close_reason(path, accept_language="zh-CN,zh;q=0.9") == (errors.NOT_LOGGED_IN, "请登录后打开控制台。")
    assert _close_reason(path, accept_language="en") == (errors.NOT_LOGGED_IN, "Log in to open consoles.")


def test_the_users_choice_wins_over_the_browser(console_guest, staff):
    client = Client()
    client.force_login(staff)
    session = client.session
    session[LANGUAGE_SESSION_KEY] = "zh-hans"
    session.save()
    ticket = ticket_for(staff, console_guest, kind="serial")
    path = f"/ws/console/{console_guest.pk}/"  # a serial ticket offered to the VNC console
    headers = f"sessionid={session.session_key}"

    async def run():
        client = WebsocketCommunicator(
            application,
            path,
            headers=[
                (b"host", b"127.0.0.1:8000"),
                (b"origin", ORIGIN),
                (b"cookie", headers.encode()),
                (b"accept-language", b"en"),
            ],
            subprotocols=["binary", tickets.PROTOCOL_PREFIX + ticket],
        )
        await client.connect()
        message = await client.receive_output(timeout=5)
        await client.wait()
        return message["code"], message.get("reason", "")

    assert async_to_sync(run)() == (errors.FORBIDDEN, "此控制台票据属于另一个控制台。")
