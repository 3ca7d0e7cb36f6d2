"""The websockify token plugin checks tickets exactly as the Channels consumer does."""

from django.contrib.auth import get_user_model

from webvirt.consoles.websockify_plugin import TicketTokens

from .conftest import ticket_for


def test_valid_ticket_resolves_to_the_display_once(console_guest, staff):
    console_guest.vnc_port = 5907
    console_guest.save()
    plugin = TicketTokens("")
    ticket = ticket_for(staff, console_guest)
    assert plugin.lookup(ticket) == ("127.0.0.1", "5907")
    assert plugin.lookup(ticket) is None  # single use


def test_unix_socket_displays(console_guest, staff):
    console_guest.vnc_socket = "/run/libvirt/qemu/vnc-1.sock"
    console_guest.save()
    assert TicketTokens("").lookup(ticket_for(staff, console_guest)) == ("unix_socket", "/run/libvirt/qemu/vnc-1.sock")


def test_refusals(console_guest, staff):
    console_guest.vnc_port = 5907
    console_guest.save()
    plugin = TicketTokens("")
    assert plugin.lookup("garbage") is None
    assert plugin.lookup(ticket_for(staff, console_guest, kind="serial")) is None
    ticket = ticket_for(staff, console_guest)
    get_user_model().objects.filter(pk=staff.pk).update(is_active=False)
    assert plugin.lookup(ticket) is None  # the user was disabled after the ticket was issued
    get_user_model().objects.filter(pk=staff.pk).update(is_active=True)
    console_guest.state = "shutoff"
    console_guest.save()
    assert plugin.lookup(ticket_for(staff, console_guest)) is None


def test_ssh_tunnelled_displays_stay_with_the_app(console_guest, staff):
    host = console_guest.host
    host.transport, host.hostname, host.username = "ssh", "kvm9", "root"
    host.save()
    console_guest.vnc_port = 5907
    console_guest.save()
    assert TicketTokens("").lookup(ticket_for(staff, console_guest)) is None
