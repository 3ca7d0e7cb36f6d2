"""What a VNC viewer sends, message by message, so that a shared console lets only the keyboard
holder's input through (RFC 6143, with the extensions noVNC speaks to QEMU).

The relay feeds every byte from the browser to `ViewerStream.feed`, which returns the bytes to
pass on. Its handshake (version, security type, the VNC password's answer, ClientInit) always
passes, with ClientInit's shared flag forced on: a viewer asking for the display alone would
disconnect everyone else. After it, display requests always pass and input (keys, pointer,
clipboard, resizing, power requests) passes only while `may_type` is true. A message this module
does not know cannot be measured, so the stream is refused rather than guessed at.

A stream that does not begin as RFB is relayed as it is: no VNC server accepts it, so it can carry
no input to a guest (the relay's own tests and benchmarks speak such streams).
"""

import struct

INPUT = "input"
DISPLAY = "display"


class ProtocolError(Exception):
    pass


def _fixed(size, role):
    return lambda buffer: (size, role) if len(buffer) >= size else None


def _set_encodings(buffer):
    if len(buffer) < 4:
        return None
    (count,) = struct.unpack_from(">H", buffer, 2)
    return 4 + 4 * count, DISPLAY


def _cut_text(buffer):
    if len(buffer) < 8:
        return None
    (length,) = struct.unpack_from(">i", buffer, 4)  # negative: the extended clipboard's size
    return 8 + abs(length), INPUT


def _fence(buffer):
    if len(buffer) < 9:
        return None
    return 9 + buffer[8], DISPLAY


def _set_desktop_size(buffer):
    if len(buffer) < 8:
        return None
    return 8 + 16 * buffer[6], INPUT


def _qemu(buffer):
    """QEMU's messages: extended key events (input) and audio control."""
    if len(buffer) < 2:
        return None
    if buffer[1] == 0:
        return (12, INPUT) if len(buffer) >= 12 else None
    if buffer[1] == 1:
        if len(buffer) < 4:
            return None
        (operation,) = struct.unpack_from(">H", buffer, 2)
        return (10 if operation == 2 else 4), DISPLAY
    raise ProtocolError(f"unknown QEMU message {buffer[1]}")


MESSAGES = {
    0: _fixed(20, DISPLAY),  # SetPixelFormat
    2: _set_encodings,
    3: _fixed(10, DISPLAY),  # FramebufferUpdateRequest
    4: _fixed(8, INPUT),  # KeyEvent
    5: _fixed(6, INPUT),  # PointerEvent
    6: _cut_text,  # ClientCutText
    150: _fixed(10, DISPLAY),  # EnableContinuousUpdates
    248: _fence,
    250: _fixed(4, INPUT),  # xvp: shutdown, reboot, reset of the machine
    251: _set_desktop_size,
    255: _qemu,
}
SECURITY_ANSWER = {1: 0, 2: 16}  # None: nothing more; VNC authentication: the 16-byte response


class ViewerStream:
    """The viewer's side of one RFB connection, parsed as it arrives (in any pieces)."""

    def __init__(self):
        self.buffer = bytearray()
        self.stage = "version"
        self.may_type = False

    def feed(self, data):
        """The bytes of `data` (with what was held back before) to pass on, whole messages only."""
        self.buffer += data
        out = bytearray()
        while self.buffer:
            taken = self._next()
            if taken is None:
                break
            size, passes = taken
            if passes:
                out += self.buffer[:size]
            del self.buffer[:size]
        return bytes(out)

    def _next(self):
        """(size, whether it passes) of the next whole message, or None until more arrives."""
        buffer = self.buffer
        if self.stage == "opaque":
            return len(buffer), True
        if self.stage == "version":
            if bytes(buffer[:4]) != b"RFB "[: len(buffer)]:
                self.stage = "opaque"
                return len(buffer), True
            if len(buffer) < 12:
                return None
            if not buffer.startswith(b"RFB 003.00") or buffer[10:11] not in (b"7", b"8"):
                raise ProtocolError("only RFB 3.7 and 3.8 viewers can share a console")
            self.stage = "security"
            return 12, True
        if self.stage == "security":
            if buffer[0] not in SECURITY_ANSWER:
                raise ProtocolError(f"security type {buffer[0]} cannot be shared")
            self.answer = SECURITY_ANSWER[buffer[0]]
            self.stage = "answer" if self.answer else "init"
            return 1, True
        if self.stage == "answer":
            if len(buffer) < self.answer:
                return None
            self.stage = "init"
            return self.answer, True
        if self.stage == "init":
            buffer[0] = 1  # shared: never the display alone
            self.stage = "messages"
            return 1, True
        measure = MESSAGES.get(buffer[0])
        if measure is None:
            raise ProtocolError(f"unknown message type {buffer[0]}")
        taken = measure(buffer)
        if taken is None or len(buffer) < taken[0]:
            return None  # the rest of it is still on its way
        size, role = taken
        return size, role == DISPLAY or self.may_type
