"""Console pages and ticket issuing: permission first, POST only, a clear answer when it cannot work."""

import pytest
from django.urls import reverse

from webvirt.consoles import errors, tickets


def test_console_pages_render_with_the_vendored_clients(admin_client, console_guest):
    page = admin_client.get(reverse("consoles:vnc", args=[console_guest.pk])).content.decode()
    assert "webvirt/console-vnc.js" in page and "Ctrl+Alt+Del" in page and "Paste text" in page
    assert reverse("consoles:ticket", args=[console_guest.pk, "vnc"]) in page
    page = admin_client.get(reverse("consoles:serial", args=[console_guest.pk])).content.decode()
    assert "webvirt/console-serial.js" in page and "vendor/xterm/xterm.css" in page
    popout = admin_client.get(reverse("consoles:vnc", args=[console_guest.pk]), {"popout": "1"}).content.decode()
    assert "console-page popout" in popout


def test_ticket_is_issued_by_post_only_and_works_once(admin_client, admin, console_guest):
    url = reverse("consoles:ticket", args=[console_guest.pk, "vnc"])
    assert admin_client.get(url).status_code == 405
    console_guest.vnc_port = 5999
    console_guest.save()
    response = admin_client.post(url)
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["absolute"] is False
    assert body["url"] == f"/ws/console/{console_guest.pk}/"  # the ticket is not in the URL
    assert body["protocols"][0] == "binary"
    ticket = tickets.from_subprotocols(body["protocols"])
    redeemed = tickets.redeem(ticket, guest_id=console_guest.pk, kind="vnc", user_id=admin.pk)
    assert redeemed == (admin.pk, console_guest.pk)
    with pytest.raises(errors.ConsoleRefused, match="already used"):
        tickets.redeem(ticket, guest_id=console_guest.pk, kind="vnc", user_id=admin.pk)


def test_ticket_for_a_stopped_guest_explains_why(admin_client, console_guest):
    console_guest.state = "shutoff"
    console_guest.save()
    response = admin_client.post(reverse("consoles:ticket", args=[console_guest.pk, "vnc"]))
    assert response.status_code == 409
    assert response.json() == {"code": errors.NOT_RUNNING, "reason": "The guest is not running."}
    response = admin_client.post(reverse("consoles:ticket", args=[console_guest.pk, "serial"]))
    assert response.status_code == 409


def test_websockify_mode_points_the_page_at_websockify(admin_client, console_guest, settings):
    settings.WEBVIRT_CONSOLE_PROXY = "websockify"
    settings.WEBVIRT_WEBSOCKIFY_URL = "wss://consoles.example.org/"
    console_guest.vnc_port = 5999
    console_guest.save()
    body = admin_client.post(reverse("consoles:ticket", args=[console_guest.pk, "vnc"])).json()
    assert body["absolute"] is True and body["url"] == "wss://consoles.example.org/"
    assert tickets.from_subprotocols(body["protocols"])


def test_websockify_mode_keeps_ssh_tunnelled_displays_on_the_apps_proxy(admin_client, console_guest, settings):
    settings.WEBVIRT_CONSOLE_PROXY = "websockify"
    settings.WEBVIRT_WEBSOCKIFY_URL = "wss://consoles.example.org/"
    host = console_guest.host
    host.transport, host.hostname, host.username = "ssh", "kvm1.example.org", "virt"
    host.set_secrets({"ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n..."})
    host.save()
    console_guest.vnc_port = 5999  # on kvm1's loopback: reached through an SSH tunnel
    console_guest.save()
    body = admin_client.post(reverse("consoles:ticket", args=[console_guest.pk, "vnc"])).json()
    assert body["absolute"] is False and body["url"] == f"/ws/console/{console_guest.pk}/"


def test_outsiders_get_no_page_and_no_ticket(outsider_client, console_guest):
    assert outsider_client.get(reverse("consoles:vnc", args=[console_guest.pk])).status_code == 404
    assert outsider_client.post(reverse("consoles:ticket", args=[console_guest.pk, "vnc"])).status_code == 404
    assert outsider_client.post(reverse("consoles:ticket", args=[console_guest.pk, "bogus"])).status_code == 404


def test_guest_page_links_its_consoles_while_running(admin_client, console_guest):
    console_guest.vnc_port = 5901
    console_guest.save()
    page = admin_client.get(console_guest.get_absolute_url()).content.decode()
    assert reverse("consoles:vnc", args=[console_guest.pk]) in page
    assert reverse("consoles:serial", args=[console_guest.pk]) in page
    console_guest.state = "shutoff"
    console_guest.save()
    page = admin_client.get(console_guest.get_absolute_url()).content.decode()
    assert reverse("consoles:vnc", args=[console_guest.pk]) not in page
