"""In Chromium: the guest and host pages draw real samples of the tiny Linux guest with uPlot, say
so when there are none yet, fetch again on a `live` event for their host (and not for another's),
and switch ranges. Screenshots are kept in test-artifacts/."""

import re
import time

import pytest

from webvirt.metrics.sampling import sample_host

from .conftest import ARTIFACTS
from .test_browser_consoles import log_in

pytestmark = [pytest.mark.libvirtd, pytest.mark.e2e]

LIVE = """([selector, hostId]) => document.querySelector(selector).dispatchEvent(
  new CustomEvent('live', {detail: {type: 'webvirt.event', event: 'metrics.sampled', host_id: hostId}}))"""


def wait_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.1)


def test_graphs_draw_real_samples_and_follow_live_events(start_app, browser, linux_guest, local_host):
    base_url = start_app()
    page = log_in(browser, base_url)
    errors, fetches = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("request", lambda request: "/metrics/" in request.url and fetches.append(request.url))

    page.goto(f"{base_url}{linux_guest.get_absolute_url()}")
    page.wait_for_selector("text=No samples yet — sampling every 10 s while the guest runs.")
    assert page.locator(".graphs canvas").count() == 0

    sample_host(local_host)
    time.sleep(2)
    sample_host(local_host)
    page.evaluate(LIVE, ["[data-live=metrics]", local_host.pk + 1000])  # another host's round: ignored
    page.wait_for_timeout(500)
    assert len(fetches) == 1 and page.locator(".graphs canvas").count() == 0
    page.evaluate(LIVE, ["[data-live=metrics]", local_host.pk])
    page.wait_for_selector("[data-graph=net] canvas")
    assert page.locator(".graphs canvas").count() == 5 and page.is_hidden("text=No samples yet")
    titles = page.locator(".graphs .u-title").all_inner_texts()
    assert titles == ["CPU", "Memory", "Disk throughput", "Disk operations", "Network"]
    legend = page.locator("[data-graph=cpu] .u-legend").inner_text()  # at rest: the latest value, with its unit
    assert float(re.search(r"CPU\s*([\d.]+) %", legend).group(1)) > 0, legend
    page.locator(".graphs").screenshot(path=ARTIFACTS / "guest-graphs.png")

    page.click("[data-range='1d']")
    wait_until(lambda: fetches[-1].endswith("range=1d"))
    assert page.get_attribute("[data-range='1d']", "aria-pressed") == "true"

    page.goto(f"{base_url}{local_host.get_absolute_url()}")
    page.wait_for_selector("[data-graph=host_memory] canvas")
    assert page.locator(".graphs .u-title").all_inner_texts() == ["CPU", "Memory"]
    page.locator(".graphs").screenshot(path=ARTIFACTS / "host-graphs.png")
    assert errors == []
