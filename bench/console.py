"""Benchmark: is the app's own Channels console relay a match for websockify?

Browsers' VNC consoles are relayed by a Channels consumer inside the app (under uvicorn) unless
websockify with webvirt's ticket plugin is deployed to take them off the app servers. This measures
both, and raw TCP without any proxy (the most this client and server manage), against a fake VNC
server on loopback that greets on connect, then streams or echoes: throughput of one console,
round-trip latency of small messages, time to the server's greeting, 100 consoles streaming at once
with every byte checked, and the proxy's memory per open console. It also reports what the proxies
logged, and the Channels throughput when the client offers compression as browsers do.

Run by hand: `WEBVIRT_DEV=1 .venv/bin/python bench/console.py` (Redis must be up). It works in a
throwaway SQLite database in a temporary folder, shared with the uvicorn and websockify processes it
starts; DEBUG is off unless set, as in production.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import django
import uvloop
from websockets.asyncio.client import connect as websocket_connect

REPO = Path(__file__).resolve().parent.parent
WORK_DIR = Path(tempfile.mkdtemp(prefix="webvirt-bench-"))
sys.path.insert(0, str(REPO))
os.environ["DJANGO_SETTINGS_MODULE"] = "webvirt.settings"
os.environ["WEBVIRT_DATA_DIR"] = str(WORK_DIR)  # and so the secret key the proxies check tickets with
os.environ["DATABASE_URL"] = f"sqlite:///{WORK_DIR / 'bench.sqlite3'}"
# A Redis database of its own: console groups are named by guest id, and the tests' or a dev
# server's guest 1 closing would close the bench's consoles.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("DEBUG", "0")
logging.disable(logging.INFO)  # the app's INFO lines in this process only; the proxies log as usual
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from webvirt.consoles import tickets  # noqa: E402
from webvirt.guests.models import Guest  # noqa: E402
from webvirt.hosts.models import Host  # noqa: E402

BIN = Path(sys.executable).parent
GREETING = b"RFB 003.008\n"
COMMAND = struct.Struct("!cIQ")  # b"S" streams `size` bytes made from `seed`; b"E" echoes
BLOCK = random.Random(0).randbytes(1 << 20)  # incompressible, like the VNC encodings that matter
ROUNDS = 11  # rounds of the load measurements, the paths taking turns; medians are reported
STREAM_BYTES = 256 << 20  # one console, each round: long enough (about 0.25 s) to even out scheduling
ECHOES_PER_ROUND = 300  # after ECHO_WARMUP; 2,100 in all
ECHO_WARMUP = 20
ECHO_BYTES = 32
TTFB_SAMPLES = 20
CONSOLES = 100
CONSOLE_BYTES = 8 << 20  # each of CONSOLES, each round
SETTLE_S = 1.0
RAW_READ = 64 * 1024  # as the proxies read
PHASE_TIMEOUT_S = 60
STARTED = []  # the proxy processes


# The fake VNC server, in a process of its own so that serving does not share the client's event loop.


def stream_chunks(seed, size):
    """What the fake server streams for `seed`: BLOCK rotated by the seed, repeated, cut at `size`."""
    offset = seed * 4099 % len(BLOCK)
    block = memoryview(BLOCK[offset:] + BLOCK[:offset])
    for start in range(0, size, len(block)):
        yield block[: size - start]


@cache
def expected_crc(seed, size):
    crc = 0
    for chunk in stream_chunks(seed, size):
        crc = zlib.crc32(chunk, crc)
    return crc


async def serve_console(reader, writer, open_count):
    """Greet, then follow one command; hold the connection until the client closes it."""
    with open_count.get_lock():
        open_count.value += 1
    try:
        writer.write(GREETING)
        mode, seed, size = COMMAND.unpack(await reader.readexactly(COMMAND.size))
        if mode == b"S":
            for chunk in stream_chunks(seed, size):
                writer.write(chunk)
                await writer.drain()
        while data := await reader.read(65536):
            if mode == b"E":
                writer.write(data)
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # a console opened only to be held, or closed mid-stream
    finally:
        writer.close()
        with open_count.get_lock():
            open_count.value -= 1


def run_fake_server(sock, open_count):
    async def serve():
        server = await asyncio.start_server(lambda r, w: serve_console(r, w, open_count), sock=sock)
        await server.serve_forever()

    uvloop.run(serve())


class FakeServer:
    """The fake VNC server's process, and a count of the connections open on it."""

    def __init__(self):
        context = multiprocessing.get_context("fork")  # before any event loop, thread or connection exists
        sock = socket.create_server(("127.0.0.1", 0), backlog=4 * CONSOLES)
        self.port = sock.getsockname()[1]
        self.open_count = context.Value("i", 0)
        self.leaked = 0
        self.process = context.Process(target=run_fake_server, args=(sock, self.open_count), daemon=True)
        self.process.start()
        sock.close()

    async def new_leaks(self, timeout=2):
        """Connections still open `timeout` s after their clients closed, other than those counted before.

        Called after each measurement: the proxy should have closed every upstream connection by then."""
        deadline = time.monotonic() + timeout
        while self.open_count.value > self.leaked and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        new, self.leaked = self.open_count.value - self.leaked, self.open_count.value
        return new

    def stop(self):
        self.process.terminate()
        self.process.join(5)


# The proxies, as processes of their own.


# Extra uvicorn options to compare (e.g. "--ws websockets"); deployments use the ones in deploy/.
UVICORN_ARGS = os.environ.get("WEBVIRT_BENCH_UVICORN_ARGS", "").split()

# The client on one CPU, the proxies on the others; the fake server anywhere. A browser is not on
# the proxy's machine, and on two cores a proxy the scheduler puts beside the client streams at
# about 700 MiB/s, beside the fake server at about 1,100: a lottery that would decide the result.
CPUS = sorted(os.sched_getaffinity(0))
CLIENT_CPUS = set(CPUS[:1]) if len(CPUS) > 1 else set(CPUS)
PROXY_CPUS = set(CPUS[1:]) if len(CPUS) > 1 else set(CPUS)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_process(name, command):
    """Start a proxy with the app's environment, its output in WORK_DIR; main() stops it."""
    env = {**os.environ, "WEBVIRT_DEV": "1", "PYTHONPATH": str(REPO)}
    with open(WORK_DIR / f"{name}.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.sched_setaffinity(0, PROXY_CPUS),  # inherited by websockify's children
        )
    STARTED.append(process)
    return process


def wait_for_port(port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{process.args[0]} does not listen on port {port}")


def stop_process(process):
    """SIGTERM to the process group it leads (websockify's children too), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def process_tree(pid):
    pids = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            for child in children.read_text().split():
                pids += process_tree(int(child))
    return pids


def pss_kib(pid):
    """Proportional set size of the process and all its descendants, in KiB."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


# Clients: one interface over raw TCP and WebSockets.


class RawConsole:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def recv(self):
        if not (data := await self.reader.read(RAW_READ)):
            raise ConnectionError("the server closed the connection")
        return data

    async def send(self, data):
        self.writer.write(data)
        await self.writer.drain()

    async def close(self):
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


class WebSocketConsole:
    def __init__(self, websocket):
        self.websocket = websocket

    async def recv(self):
        data = await self.websocket.recv()
        if not isinstance(data, bytes):
            raise ValueError(f"a text message on a binary console: {data!r}")
        return data

    async def send(self, data):
        await self.websocket.send(data)

    async def close(self):
        await self.websocket.close()


@dataclass(frozen=True)
class RawPath:
    port: int
    name: str = "raw TCP"
    process = None  # no proxy

    def target(self):
        return None

    async def connect(self, _):
        return RawConsole(*await asyncio.open_connection("127.0.0.1", self.port))


@dataclass(frozen=True)
class WebSocketPath:
    name: str
    process: subprocess.Popen
    url: str
    ticket: Callable[[], str]  # a fresh ticket, offered as a subprotocol as pages do
    origin: str | None = None
    cookie: str | None = None
    compression: str | None = None  # None: websockify cannot compress, so neither side does

    def target(self):
        return self.ticket()

    async def connect(self, ticket):
        websocket = await websocket_connect(
            self.url,
            origin=self.origin,
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
            subprotocols=["binary", tickets.PROTOCOL_PREFIX + ticket],
            compression=self.compression,
            proxy=None,
        )
        return WebSocketConsole(websocket)


async def read_exactly(console, size):
    data = b""
    while len(data) < size:
        data += await console.recv()
    if len(data) != size:
        raise ValueError(f"expected {size} bytes, got {len(data)}")
    return data


async def open_console(path):
    """A console past the server's greeting, and the seconds from connect start to the greeting."""
    target = path.target()  # the ticket: a page fetches it before it connects
    start = time.perf_counter()
    console = await path.connect(target)
    greeting = await read_exactly(console, len(GREETING))
    ttfb = time.perf_counter() - start
    if greeting != GREETING:
        raise ValueError(f"{path.name}: greeting {greeting!r}")
    return console, ttfb


async def open_many(path, count):
    opened = await asyncio.gather(*(open_console(path) for _ in range(count)))
    return [console for console, _ in opened]


async def close_all(consoles):
    await asyncio.gather(*(console.close() for console in consoles))


async def stream(console, seed, size):
    """Ask for `size` bytes of `seed`'s stream; True when they all arrive intact (count and CRC-32)."""
    await console.send(COMMAND.pack(b"S", seed, size))
    received, crc = 0, 0
    while received < size:
        data = await console.recv()
        received += len(data)
        crc = zlib.crc32(data, crc)
    return received == size and crc == expected_crc(seed, size)


# Measurements.


async def bounded(awaitable):
    async with asyncio.timeout(PHASE_TIMEOUT_S):
        return await awaitable


async def time_to_first_byte(path):
    """Median ms from connect start to the server's greeting, over TTFB_SAMPLES new consoles."""
    samples = []
    for _ in range(TTFB_SAMPLES):
        console, ttfb = await open_console(path)
        samples.append(ttfb * 1000)
        await console.close()
    return statistics.median(samples)


async def idle_memory(path):
    """KiB of the proxy's PSS per open idle console, and its process count, with CONSOLES consoles open.

    One console first: the proxy's first connection loads what all the later ones share."""
    console, _ = await open_console(path)
    await console.close()
    pid = path.process.pid
    before = pss_kib(pid)
    consoles = await open_many(path, CONSOLES)
    await asyncio.sleep(SETTLE_S)
    figures = (pss_kib(pid) - before) / CONSOLES, len(process_tree(pid))
    await close_all(consoles)
    return figures


async def round_trips(path):
    """ms of each of ECHOES_PER_ROUND sequential round trips of ECHO_BYTES through the echoing server."""
    console, _ = await open_console(path)
    await console.send(COMMAND.pack(b"E", 0, 0))
    times = []
    for i in range(ECHO_WARMUP + ECHOES_PER_ROUND):
        payload = os.urandom(ECHO_BYTES)
        start = time.perf_counter()
        await console.send(payload)
        if await read_exactly(console, ECHO_BYTES) != payload:
            raise AssertionError(f"{path.name}: the echo differs")
        if i >= ECHO_WARMUP:
            times.append((time.perf_counter() - start) * 1000)
    await console.close()
    return times


async def throughput(path, seed):
    """MiB/s of one console streaming STREAM_BYTES."""
    expected_crc(seed, STREAM_BYTES)
    console, _ = await open_console(path)
    start = time.perf_counter()
    if not await stream(console, seed, STREAM_BYTES):
        raise AssertionError(f"{path.name}: the stream arrived damaged")
    rate = STREAM_BYTES / (1 << 20) / (time.perf_counter() - start)
    await console.close()
    return rate


async def concurrent(path):
    """Aggregate MiB/s of CONSOLES consoles streaming CONSOLE_BYTES each at once, and how many arrived intact."""
    consoles = await open_many(path, CONSOLES)
    start = time.perf_counter()
    intact = await asyncio.gather(*(stream(console, seed, CONSOLE_BYTES) for seed, console in enumerate(consoles)))
    rate = CONSOLES * CONSOLE_BYTES / (1 << 20) / (time.perf_counter() - start)
    await close_all(consoles)
    return rate, sum(intact)


async def settle(path):
    """Wait until the proxy is back to one process: websockify's children of the 100-console phase
    exit after their clients left, and would otherwise take CPU from the next path's round trips."""
    deadline = time.monotonic() + PHASE_TIMEOUT_S
    while path.process and len(process_tree(path.process.pid)) > 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(SETTLE_S)


async def load_round(path, seed, server, samples):
    """One round of the load measurements on `path`, added to its samples."""
    times = await bounded(round_trips(path))
    samples["round_trips_ms"] += times
    samples["round_p50_ms"].append(statistics.median(times))
    samples["round_p99_ms"].append(statistics.quantiles(times, n=100)[98])
    samples["mibps"].append(await bounded(throughput(path, seed)))
    rate, intact = await bounded(concurrent(path))
    samples["conc100_mibps"].append(rate)
    samples["intact"].append(intact)
    samples["upstream_left"] += await server.new_leaks()
    await settle(path)


async def run_all(paths, deflate, server):
    """Per path, what each figure was measured as.

    Memory and greeting times come first, on fresh proxies; then the load measurements, in rounds
    where the paths take turns, so that a slow spell of the (shared, virtual) machine hits them
    alike. Last, the Channels path's throughput with compression on.
    """
    for seed in range(CONSOLES):
        expected_crc(seed, CONSOLE_BYTES)
    results = {path.name: {"kib_per_console": None, "processes": None} for path in paths}
    lists = ("round_trips_ms", "round_p50_ms", "round_p99_ms", "mibps", "conc100_mibps", "intact")
    samples = {path.name: {**{key: [] for key in lists}, "upstream_left": 0} for path in paths}
    for path in paths:
        if path.process:
            kib, processes = await bounded(idle_memory(path))
            results[path.name].update(kib_per_console=kib, processes=processes)
        results[path.name]["ttfb_ms"] = await bounded(time_to_first_byte(path))
        samples[path.name]["upstream_left"] += await server.new_leaks()
        print(f"{path.name}: {results[path.name]}", flush=True)
    for round_ in range(ROUNDS):
        for path in paths:
            await load_round(path, round_, server, samples[path.name])
        rates = (f"{name} {s['mibps'][-1]:.0f} / {s['conc100_mibps'][-1]:.0f}" for name, s in samples.items())
        print(f"round {round_ + 1}/{ROUNDS}, MiB/s on 1 / {CONSOLES} consoles: {', '.join(rates)}", flush=True)
    for name, s in samples.items():
        results[name].update(
            mibps=statistics.median(s["mibps"]),
            p50_ms=statistics.median(s["round_trips_ms"]),
            p99_ms=statistics.quantiles(s["round_trips_ms"], n=100)[98],
            conc100_mibps=statistics.median(s["conc100_mibps"]),
            intact=min(s["intact"]),
            upstream_left=s["upstream_left"],
            rounds={key: s[key] for key in PAIRED},
        )
    results["channels"]["deflate_mibps"] = statistics.median(
        [await bounded(throughput(deflate, seed)) for seed in range(3)]
    )
    return results


# Set-up and report.


def set_up(vnc_port):
    """The database, a staff user with a session, and a running guest whose display is the fake server."""
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", is_staff=True)
    host = Host.objects.create(name="local", transport="local")
    guest = Guest.objects.create(
        host=host, uuid=str(uuid.uuid4()), name="bench", state="running", vnc_listen="127.0.0.1", vnc_port=vnc_port
    )
    client = Client()
    client.force_login(user)
    return user, guest, client.cookies["sessionid"].value


def start_proxies(user, guest, cookie):
    """uvicorn with the app and websockify with the ticket plugin, each on a free port, as paths to measure."""
    uvicorn_port, websockify_port = free_port(), free_port()
    uvicorn = start_process(
        "uvicorn",
        [
            BIN / "uvicorn",
            "webvirt.asgi:application",
            *UVICORN_ARGS,
            "--host",
            "127.0.0.1",
            "--port",
            str(uvicorn_port),
        ],
    )
    websockify = start_process(
        "websockify",
        [
            sys.executable,
            "-m",
            "webvirt.consoles.websockify_plugin",
            f"127.0.0.1:{websockify_port}",
        ],
    )
    wait_for_port(uvicorn_port, uvicorn)
    wait_for_port(websockify_port, websockify)

    def ticket():
        return tickets.issue(user=user, guest=guest, kind="vnc")

    channels = WebSocketPath(
        "channels",
        uvicorn,
        f"ws://127.0.0.1:{uvicorn_port}/ws/console/{guest.pk}/",
        ticket,
        origin=f"http://127.0.0.1:{uvicorn_port}",
        cookie=f"sessionid={cookie}",
    )
    websockify_path = WebSocketPath("websockify", websockify, f"ws://127.0.0.1:{websockify_port}/", ticket)
    return channels, websockify_path


ROWS = [
    ("mibps", "throughput, 1 console (MiB/s)"),
    ("p50_ms", "round trip p50 (ms)"),
    ("p99_ms", "round trip p99 (ms)"),
    ("ttfb_ms", "connect to greeting, median (ms)"),
    ("conc100_mibps", f"{CONSOLES} consoles at once, total (MiB/s)"),
    ("kib_per_console", "proxy PSS per open console (KiB)"),
]


PAIRED = {
    "mibps": "throughput, 1 console",
    "conc100_mibps": f"throughput, {CONSOLES} consoles",
    "round_p50_ms": "round trip p50",
    "round_p99_ms": "round trip p99",
}


def paired_ratio(ch, ws, key):
    """Median over rounds of channels' figure over websockify's in the same round: they ran seconds
    apart, so a slow spell of the shared machine weighs on both alike."""
    return statistics.median(c / w for c, w in zip(ch["rounds"][key], ws["rounds"][key], strict=True))


def cell(value, width):
    return f"{value:{width}.3f}" if value is not None else f"{'n/a':>{width}}"


def ratio(a, b):
    return cell(a / b if a is not None and b else None, 10)


def log_summary(text):
    """The exceptions a proxy logged, and the tasks asyncio found abandoned, by kind."""
    kinds = Counter(re.findall(r"^([\w.]+(?:Error|Exception)):? ", text, re.MULTILINE))
    kinds["abandoned tasks"] = text.count("Task was destroyed but it is pending")
    return ", ".join(f"{count} {kind}" for kind, count in kinds.most_common() if count) or "no errors"


def report(results):
    raw, ws, ch = results["raw TCP"], results["websockify"], results["channels"]
    print()
    print(f"{'':40}{'raw TCP':>11}{'websockify':>11}{'channels':>11}{'ch/ws':>10}{'ch/raw':>10}{'ws/raw':>10}")
    for key, label in ROWS:
        print(
            f"{label:40}{cell(raw[key], 11)}{cell(ws[key], 11)}{cell(ch[key], 11)}"
            f"{ratio(ch[key], ws[key])}{ratio(ch[key], raw[key])}{ratio(ws[key], raw[key])}"
        )
    print()
    for name, r in (("raw TCP", raw), ("websockify", ws), ("channels", ch)):
        print(
            f"{name}: {r['intact']}/{CONSOLES} concurrent streams intact in the worst round (byte count, CRC-32); "
            f"{r['processes'] or 'no'} proxy process(es) with {CONSOLES} consoles open; "
            f"{r['upstream_left']} upstream connection(s) left open after their clients closed"
        )
    for log in sorted(WORK_DIR.glob("*.log")):
        print(f"{log.stem} logged: {log_summary(log.read_text())}")
    print(
        f"channels with permessage-deflate offered, as browsers do: {ch['deflate_mibps']:.1f} MiB/s on 1 console "
        f"(x{ch['deflate_mibps'] / ch['mibps']:.3f})"
    )

    paired = {key: paired_ratio(ch, ws, key) for key in PAIRED}
    print(f"channels / websockify, median of the {ROUNDS} rounds' ratios:")
    for key, label in PAIRED.items():
        print(f"  {label:<38}{paired[key]:.3f}")
    conc100_ok = ch["intact"] == CONSOLES and ch["processes"] == 1
    targets = [
        ("channels throughput, 1 console >= websockify", paired["mibps"] >= 1),
        (f"channels throughput, {CONSOLES} consoles >= websockify", paired["conc100_mibps"] >= 1),
        ("channels round trip p50 <= websockify", paired["round_p50_ms"] <= 1),
        ("channels round trip p99 <= websockify", paired["round_p99_ms"] <= 1),
        ("channels memory per console < websockify / 10", ch["kib_per_console"] < ws["kib_per_console"] / 10),
        (f"{CONSOLES} consoles on one channels process, all bytes intact", conc100_ok),
    ]
    print("Targets:")
    for label, ok in targets:
        print(f"  {label:<58} {'PASS' if ok else 'FAIL'}")
    print(
        f"channels_mibps={ch['mibps']:.1f} websockify_mibps={ws['mibps']:.1f} raw_mibps={raw['mibps']:.1f} "
        f"channels_p50_ms={ch['p50_ms']:.3f} websockify_p50_ms={ws['p50_ms']:.3f} raw_p50_ms={raw['p50_ms']:.3f} "
        f"channels_p99_ms={ch['p99_ms']:.3f} websockify_p99_ms={ws['p99_ms']:.3f} channels_ttfb_ms={ch['ttfb_ms']:.2f} "
        f"websockify_ttfb_ms={ws['ttfb_ms']:.2f} conc100_ok={int(conc100_ok)} "
        f"channels_conc100_mibps={ch['conc100_mibps']:.1f} websockify_conc100_mibps={ws['conc100_mibps']:.1f} "
        f"channels_kib_per_console={ch['kib_per_console']:.1f} "
        f"websockify_kib_per_console={ws['kib_per_console']:.1f} "
        f"paired_mibps={paired['mibps']:.3f} paired_conc100_mibps={paired['conc100_mibps']:.3f} "
        f"paired_p50={paired['round_p50_ms']:.3f} paired_p99={paired['round_p99_ms']:.3f}"
    )


def print_logs():
    for log in sorted(WORK_DIR.glob("*.log")):
        print(f"--- {log.name} (end) ---\n{log.read_text()[-3000:]}", file=sys.stderr)


def main():
    server = FakeServer()  # forked before the client is pinned: it may run on any CPU
    os.sched_setaffinity(0, CLIENT_CPUS)
    print(f"CPUs: client {sorted(CLIENT_CPUS)}, proxies {sorted(PROXY_CPUS)}, fake server {CPUS}", flush=True)
    try:
        user, guest, cookie = set_up(server.port)
        channels, websockify = start_proxies(user, guest, cookie)
        deflate = replace(channels, name="channels, deflate offered", compression="deflate")
        report(uvloop.run(run_all([RawPath(server.port), websockify, channels], deflate, server)))
    except BaseException:
        print_logs()
        raise
    finally:
        for process in STARTED:
            stop_process(process)
        server.stop()


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
