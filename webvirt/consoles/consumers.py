"""WebSocket consumers: the VNC relay for noVNC and the serial console bridge for xterm.js.

All checks run before accept(); a refused connection is accepted only to be closed at once with a
code and a reason the page can show. The byte pumps touch no database and read in bounded chunks;
awaiting each send and each drain lets a slow side hold back the fast one instead of buffering.
"""

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils.translation import gettext as _

from webvirt import hypervisor
from webvirt.core import events
from webvirt.hosts.connections import connection_spec

from . import errors, presence, rfb, serial_sessions, tickets
from .access import authorize, check_origin, still_permitted
from .endpoints import DisplayStream, open_endpoint, vnc_endpoint
from .errors import ConsoleRefused

log = logging.getLogger(__name__)

CHUNK = 64 * 1024


def _prepare_vnc(**kwargs):
    guest = authorize(kind="vnc", **kwargs)
    return guest, vnc_endpoint(guest)


def _prepare_serial(**kwargs):
    guest = authorize(kind="serial", **kwargs)
    if guest.is_gone:
        raise ConsoleRefused(errors.NO_DISPLAY, _("The guest no longer exists."))
    if not guest.is_active:
        raise ConsoleRefused(errors.NOT_RUNNING, _("The guest is not running."))
    return guest, connection_spec(guest.host)


class ConsoleConsumer(AsyncWebsocketConsumer):
    """What both consoles share: the checks, refusals, the guest group and its close events."""

    kind = ""
    prepare = None
    guest = None
    moving_to = ""  # the host the guest is moving to, as its events tell (the pumps read no database)
    heartbeat = None  # the task that keeps this connection on the presence list

    @property
    def query(self):
        return parse_qs(self.scope.get("query_string", b"").decode())

    def _subprotocol(self):
        return "binary" if "binary" in self.scope.get("subprotocols", []) else None

    async def connect(self):
        guest_id = int(self.scope["url_route"]["kwargs"]["guest_id"])
        try:
            check_origin(self.scope.get("headers", []), scheme=self.scope.get("scheme", "ws"))
            guest, target = await database_sync_to_async(type(self).prepare)(
                user=self.scope.get("user"),
                guest_id=guest_id,
                token=tickets.from_subprotocols(self.scope.get("subprotocols", [])),
            )
            await self.open(guest, target)
        except ConsoleRefused as refusal:
            await self.refuse(guest_id, refusal)
            return
        self.guest = guest
        await self.accept(self._subprotocol())
        for group in self.groups_followed():
            await self.channel_layer.group_add(group, self.channel_name)
        self.started()
        await self.arrived()
        log.info("%s console of guest %s opened by %s", self.kind, guest_id, self.scope["user"])

    async def refuse(self, guest_id, refusal):
        client = (self.scope.get("client") or ["?"])[0]
        user = self.scope.get("user")
        log.warning(
            "%s console of guest %s refused for %s from %s: %s %s",
            self.kind,
            guest_id,
            user if user and user.is_authenticated else "anonymous",
            client,
            refusal.code,
            refusal.reason,
        )
        await self.accept(self._subprotocol())
        await self.close(code=refusal.code, reason=refusal.reason)

    async def arrived(self):
        """Join the console's presence list (the first there holds the keyboard) and say so."""
        user = self.scope["user"]  # resolved by the auth middleware before connect
        await sync_to_async(presence.join, thread_sensitive=False)(
            self.kind, self.guest.pk, self.channel_name, user.pk, user.get_username()
        )
        self.heartbeat = asyncio.create_task(self._beat())
        await self.presence_changed()

    async def _beat(self):
        """Say this connection is still there; sweep out those whose web server died."""
        user = self.scope["user"]
        while True:
            await asyncio.sleep(presence.BEAT_SECONDS)
            with contextlib.suppress(Exception):  # Redis away for a while: try again next beat
                changed = await sync_to_async(presence.beat, thread_sensitive=False)(
                    self.kind, self.guest.pk, self.channel_name, user.pk, user.get_username()
                )
                if changed:
                    await self.presence_changed()

    async def departed(self):
        if self.heartbeat:
            self.heartbeat.cancel()
        await sync_to_async(presence.leave, thread_sensitive=False)(self.kind, self.guest.pk, self.channel_name)
        await self.announce_presence()

    async def announce_presence(self):
        group, message = presence.announcement(self.kind, self.guest.pk)
        await self.channel_layer.group_send(group, message)

    async def presence_changed(self):
        """Someone came, went or handed the keyboard over: pages re-read the list; relays ask
        again whether they may type (the VNC relay overrides this)."""
        await self.announce_presence()

    def groups_followed(self):
        """Events about this guest (it stops, goes) and about this user (their access changed)."""
        return [events.guest_group(self.guest.pk), events.user_group(self.scope["user"].pk)]

    async def display_closed(self, reason):
        """Closed for good, or, while the guest moves, with a code that has the page follow it."""
        if self.moving_to:
            await self.close(
                code=errors.GUEST_MOVING, reason=_("The guest is moving to %(host)s.") % {"host": self.moving_to}
            )
        else:
            await self.close(code=errors.DISPLAY_CLOSED, reason=reason)

    async def webvirt_event(self, event):
        """core/events.py: a console closes when its guest stops or goes, and asks the policy again
        when its user's access changes; other events (operations, ...) are not its business."""
        if event["event"] == "guest.changed":
            self.moving_to = event.get("moving_to", "")
        if event["event"] == "guest.changed" and event.get("moved_to"):
            await self.close(
                code=errors.GUEST_MOVING, reason=_("The guest moved to %(host)s.") % {"host": event["moved_to"]}
            )
        elif event["event"] == "guest.changed" and (event["gone"] or not event["active"]):
            reason = _("The guest no longer exists.") if event["gone"] else _("The guest stopped.")
            await self.close(code=errors.GUEST_STOPPED, reason=reason)
        elif event["event"] == "access.changed":
            try:
                await database_sync_to_async(still_permitted)(self.scope["user"].pk, self.guest.pk)
            except ConsoleRefused:
                log.warning(
                    "%s console of guest %s closed: %s lost access", self.kind, self.guest.pk, self.scope["user"]
                )
                await self.close(code=errors.ACCESS_REVOKED, reason=_("Your access to this console was revoked."))

    async def __call__(self, scope, receive, send):
        """Relay the browser's messages in the task that reads them.

        Channels' loop would wake three tasks per message (a fresh one to read it, its waiter, the
        consumer) and hop to the sync thread to tidy database connections; once the console is
        open, keystrokes and pointer moves go straight to the guest instead. Everything else
        (connect, disconnect, channel layer events) still goes through Channels' dispatch."""

        async def receive_control():
            while True:
                message = await receive()
                if message["type"] != "websocket.receive" or self.guest is None:
                    return message
                await self.websocket_receive(message)

        await super().__call__(scope, receive_control, send)

    async def dispatch(self, message):
        """Presence events read Redis only: handled here, without Channels' tidying of database
        connections before each handler (a hop to the sync thread, on every join and hand-over)."""
        if message.get("type") == events.MESSAGE_TYPE and message.get("event") == "console.presence":
            if message.get("kind") == self.kind and self.guest is not None:
                await self.keyboard_moved()
            return
        await super().dispatch(message)

    async def keyboard_moved(self):
        """The keyboard may have changed hands (only the VNC relay filters input)."""

    async def disconnect(self, code):
        if self.guest is None:
            return
        try:
            await self.stop()  # first: a channel layer error below must not leave the display open
            await self.departed()
        finally:
            for group in self.groups_followed():
                await self.channel_layer.group_discard(group, self.channel_name)


class VncConsumer(ConsoleConsumer):
    kind = "vnc"
    prepare = staticmethod(_prepare_vnc)

    async def open(self, guest, endpoint):
        try:
            self.reader, self.writer, self.cleanup = await open_endpoint(endpoint)
        except (OSError, TimeoutError) as exc:
            raise ConsoleRefused(
                errors.UNREACHABLE,
                _("Cannot reach the guest's display: %(reason)s") % {"reason": exc or _("timed out")},
            ) from None

    def started(self):
        self.viewer = rfb.ViewerStream()
        self.pump = asyncio.create_task(self._pump())

    async def presence_changed(self):
        await self.keyboard_moved()
        await self.announce_presence()

    async def keyboard_moved(self):
        self.viewer.may_type = await sync_to_async(presence.holds, thread_sensitive=False)(
            self.kind, self.guest.pk, self.channel_name
        )

    async def _pump(self):
        with contextlib.suppress(ConnectionError, OSError):
            while data := await self.reader.read(CHUNK):
                await self.send(bytes_data=data)
        await self.display_closed(_("The guest's display closed."))

    async def receive(self, text_data=None, bytes_data=None):
        if not bytes_data:
            return
        try:
            data = self.viewer.feed(bytes_data)  # a viewer without the keyboard only watches
        except rfb.ProtocolError as exc:
            log.warning("vnc console of guest %s closed: %s", self.guest.pk, exc)
            await self.close(code=errors.DISPLAY_CLOSED, reason=_("The viewer spoke a protocol webvirt cannot share."))
            return
        if data:
            self.writer.write(data)
            try:
                await self.writer.drain()
            except (ConnectionError, OSError):
                await self.display_closed(_("The guest's display closed."))

    async def stop(self):
        self.pump.cancel()
        self.writer.close()
        if self.cleanup:
            self.cleanup()


class SerialConsumer(ConsoleConsumer):
    kind = "serial"
    prepare = staticmethod(_prepare_serial)

    async def open(self, guest, spec):
        """Open the console; if another session holds it, take it over when asked and allowed."""
        try:
            try:
                self.console = await self._open_console(guest, spec, take_over=False)
            except hypervisor.ConsoleBusy:
                if self.query.get("takeover") != ["1"]:
                    raise ConsoleRefused(
                        errors.CONSOLE_BUSY,
                        _("Another session has this serial console open. Take it over to use it here."),
                    ) from None
                await database_sync_to_async(serial_sessions.check_take_over)(self.scope["user"], guest)
                self.console = await self._open_console(guest, spec, take_over=True)
        except hypervisor.HypervisorError as exc:
            raise ConsoleRefused(
                errors.UNREACHABLE, _("Cannot open the serial console: %(error)s") % {"error": exc}
            ) from None
        await sync_to_async(serial_sessions.hold)(guest.pk, self.scope["user"].pk, self.channel_name)

    async def _open_console(self, guest, spec, *, take_over):
        """The console's bytes come through a socket to its relay, read like a direct display: at
        most PENDING_CHUNKS chunks wait for the browser, then reading stops, which holds back the
        relay and so the guest (hypervisor/serial.py says why a relay)."""
        console = await sync_to_async(hypervisor.SerialConsole, thread_sensitive=False)(
            spec, guest.uuid, take_over=take_over
        )
        _, self.stream = await asyncio.get_running_loop().create_unix_connection(DisplayStream, sock=console.socket)
        return console

    def started(self):
        self.pump = asyncio.create_task(self._pump())

    async def _pump(self):
        while data := await self.stream.read(CHUNK):
            await self.send(bytes_data=data)
        await self.display_closed(_("The serial console closed: another session took it over, or the guest stopped."))

    async def receive(self, text_data=None, bytes_data=None):
        data = bytes_data if bytes_data is not None else (text_data or "").encode()
        if data:
            self.stream.write(data)
            try:
                await self.stream.drain()
            except ConnectionError:
                await self.close(code=errors.DISPLAY_CLOSED, reason=_("The serial console closed."))

    async def stop(self):
        self.pump.cancel()
        self.stream.close()
        await sync_to_async(self.console.close, thread_sensitive=False)()
        await sync_to_async(serial_sessions.release)(self.guest.pk, self.scope["user"].pk, self.channel_name)
