"""The relay's connection to a display: bytes intact, and bounded memory when the browser is slow."""

import asyncio
import os

import pytest

from webvirt.consoles.endpoints import PENDING_CHUNKS, DisplayStream, Endpoint, open_endpoint

CHUNK = 64 * 1024


async def serve(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, Endpoint(address="127.0.0.1", port=server.sockets[0].getsockname()[1])


def test_a_display_that_floods_a_slow_reader_is_held_back():
    payload = os.urandom(32 * 1024 * 1024)
    sent = asyncio.Event()

    async def flood(reader, writer):
        writer.write(payload)
        await writer.drain()
        sent.set()
        writer.close()

    async def scenario():
        server, endpoint = await serve(flood)
        stream, _, _ = await open_endpoint(endpoint)
        assert isinstance(stream, DisplayStream)
        await asyncio.sleep(0.5)  # the browser reads nothing meanwhile
        assert stream.paused and len(stream.chunks) <= PENDING_CHUNKS
        assert sum(len(chunk) for chunk in stream.chunks) <= PENDING_CHUNKS * 256 * 1024
        assert not sent.is_set(), "the display could hand everything over: nothing held it back"
        received = bytearray()
        while data := await stream.read(CHUNK):
            assert len(data) <= CHUNK
            received += data
        assert received == payload and sent.is_set()
        server.close()

    asyncio.run(scenario())


def test_small_reads_split_chunks_without_losing_bytes():
    payload = os.urandom(1_000_003)

    async def send_all(reader, writer):
        writer.write(payload)
        await writer.drain()
        writer.close()

    async def scenario():
        server, endpoint = await serve(send_all)
        stream, _, _ = await open_endpoint(endpoint)
        received = bytearray()
        while data := await stream.read(1000):
            assert len(data) <= 1000
            received += data
        assert received == payload
        assert await stream.read(1000) == b""
        server.close()

    asyncio.run(scenario())


def test_writing_to_a_display_that_closed_fails():
    async def close_at_once(reader, writer):
        writer.close()

    async def scenario():
        server, endpoint = await serve(close_at_once)
        stream, writer, _ = await open_endpoint(endpoint)
        assert await stream.read(CHUNK) == b""
        writer.write(b"keys")
        with pytest.raises(ConnectionError):
            await writer.drain()
        server.close()

    asyncio.run(scenario())
