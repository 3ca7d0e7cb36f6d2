"""The viewer's RFB stream as a shared console reads it: the handshake passes (shared forced on),
display requests always pass, input only from the keyboard holder, in whatever pieces it comes."""

import struct

import pytest

from webvirt.consoles.rfb import ProtocolError, ViewerStream

VERSION = b"RFB 003.008\n"
SECURITY_NONE = b"\x01"
CLIENT_INIT_EXCLUSIVE = b"\x00"
SET_ENCODINGS = struct.pack(">BxH3i", 2, 3, 0, 7, -223)
UPDATE_REQUEST = struct.pack(">BBHHHH", 3, 1, 0, 0, 800, 600)
KEY_DOWN = struct.pack(">BBxxI", 4, 1, 0x61)
POINTER = struct.pack(">BBHH", 5, 1, 10, 20)
CUT_TEXT = struct.pack(">Bxxxi", 6, 5) + b"hello"
EXTENDED_CUT_TEXT = struct.pack(">Bxxxi", 6, -8) + b"\x00" * 8
QEMU_KEY = struct.pack(">BBHII", 255, 0, 1, 0x61, 0x1E)
QEMU_AUDIO_FORMAT = struct.pack(">BBHBBI", 255, 1, 2, 3, 2, 44100)
FENCE = struct.pack(">BxxxIB", 248, 0, 3) + b"abc"
DESKTOP_SIZE = struct.pack(">BxHHBx", 251, 800, 600, 1) + b"\x00" * 16
XVP_REBOOT = struct.pack(">BxBB", 250, 1, 3)
HANDSHAKE = VERSION + SECURITY_NONE + CLIENT_INIT_EXCLUSIVE
DISPLAY = SET_ENCODINGS + UPDATE_REQUEST + FENCE + QEMU_AUDIO_FORMAT
INPUT = KEY_DOWN + POINTER + CUT_TEXT + EXTENDED_CUT_TEXT + QEMU_KEY + DESKTOP_SIZE + XVP_REBOOT


def test_the_handshake_passes_with_the_display_shared():
    stream = ViewerStream()
    assert stream.feed(HANDSHAKE) == VERSION + SECURITY_NONE + b"\x01"  # never the display alone


def test_a_watcher_sends_display_requests_but_no_input_and_the_holder_sends_both():
    stream = ViewerStream()
    stream.feed(HANDSHAKE)
    assert stream.feed(INPUT + DISPLAY + INPUT) == DISPLAY
    stream.may_type = True
    assert stream.feed(INPUT + DISPLAY) == INPUT + DISPLAY
    stream.may_type = False
    assert stream.feed(KEY_DOWN + UPDATE_REQUEST) == UPDATE_REQUEST


def test_messages_in_any_pieces_come_out_whole():
    everything = HANDSHAKE + DISPLAY + INPUT + DISPLAY
    stream = ViewerStream()
    stream.may_type = True
    out = b"".join(stream.feed(everything[i : i + 1]) for i in range(len(everything)))
    assert out == VERSION + SECURITY_NONE + b"\x01" + DISPLAY + INPUT + DISPLAY
    watcher = ViewerStream()
    out = b"".join(watcher.feed(everything[i : i + 7]) for i in range(0, len(everything), 7))
    assert out == VERSION + SECURITY_NONE + b"\x01" + DISPLAY + DISPLAY


def test_a_vnc_password_answer_passes():
    stream = ViewerStream()
    answer = bytes(range(16))
    assert stream.feed(VERSION + b"\x02" + answer + b"\x01" + KEY_DOWN) == VERSION + b"\x02" + answer + b"\x01"


@pytest.mark.parametrize(
    "data, says",
    [
        (VERSION + b"\x13", "security type 19"),  # VeNCrypt: its messages cannot be followed
        (b"RFB 003.003\n", "3.7 and 3.8"),
        (HANDSHAKE + b"\x07" + b"\x00" * 20, "unknown message type 7"),
        (HANDSHAKE + b"\xff\x09", "unknown QEMU message 9"),
    ],
)
def test_what_cannot_be_followed_is_refused(data, says):
    with pytest.raises(ProtocolError, match=says):
        ViewerStream().feed(data)


def test_a_stream_that_is_not_rfb_is_relayed_as_it_is():
    stream = ViewerStream()
    assert stream.feed(b"ping") == b"ping"
    assert stream.feed(KEY_DOWN) == KEY_DOWN
