"""axe-core (vendored in tests/vendor/axe-core) on the main pages in Chromium: no serious or
critical violation, light and dark."""

import pytest
from django.utils import timezone

from tests.conftest import INTERFACES, OVS_NETWORK, PASSWORD, UserFactory, host_file_xml
from webvirt.backups.models import Backup, BackupPool
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.models import Host
from webvirt.hosts.sync import sync_host
from webvirt.storage.models import Pool

from .conftest import ARTIFACTS, REPO

pytestmark = [pytest.mark.e2e]

AXE = REPO / "tests" / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}"""


def test_main_pages_have_no_serious_accessibility_violations(start_app, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    path = tmp_path / "a11y-host.xml"
    guests = host_file_xml([{"name": "alpha"}, {"name": "beta", "state": "shutoff"}])
    path.write_text(guests.replace("</node>", f"{INTERFACES}{OVS_NETWORK}</node>"))  # a network with portgroups
    host = Host.objects.create(name="testhost", transport="test", test_path=str(path))
    sync_host(host)
    alpha = Guest.objects.get(name="alpha")
    # A second host, in maintenance, and an evacuation of it with one step: the fleet's pages.
    other = tmp_path / "a11y-other.xml"
    other.write_text(host_file_xml([{"name": "gamma"}]))
    closed = Host.objects.create(
        name="closed",
        transport="test",
        test_path=str(other),
        maintenance_since=timezone.now(),
        maintenance_reason="disks",
    )
    sync_host(closed)
    evacuation = Operation.objects.create(kind="host.evacuate", host=closed, target="closed", status="failed")
    Operation.objects.create(
        kind="guest.migrate", host=closed, target="gamma from closed to testhost", parent=evacuation, status="failed"
    )
    pool = Pool.objects.create(host=host, uuid="0b5e6f3a-0000-4000-8000-000000000a11", name="bk", state="active")
    BackupPool.objects.create(host=host, pool=pool)
    backup = Backup.objects.create(
        guest=alpha,
        guest_name="alpha",
        host=host,
        pool_uuid=pool.uuid,
        pool_name="bk",
        status="succeeded",
        size_bytes=2**20,
        volumes=[{"target": "vda", "name": "alpha-backup-1-vda.qcow2", "capacity": 2**30, "allocation": 2**20}],
    )
    base_url = start_app()
    UserFactory(username="a11y-admin", is_staff=True, is_superuser=True)
    pages = [
        "/",
        "/guests/",
        f"/guests/{alpha.pk}/",
        f"/guests/{alpha.pk}/?tab=hardware",
        f"/guests/{alpha.pk}/?tab=snapshots",
        f"/guests/{alpha.pk}/?tab=access",
        f"/guests/{alpha.pk}/?tab=backups",
        "/backups/",
        "/backups/pools/",
        f"/backups/{backup.pk}/restore/",
        "/hosts/",
        f"/hosts/{host.pk}/",
        f"/hosts/{host.pk}/storage/",
        f"/hosts/{host.pk}/networks/",
        host.networks.get(name="trunk").get_absolute_url(),
        "/operations/",
        "/audit/",
        "/account/",
        "/account/two-factor/",
        f"/guests/new/?host={host.pk}",
        "/guests/new/?host=any",
        f"/guests/{alpha.pk}/migrate/",
        f"/hosts/{closed.pk}/",
        f"/operations/{evacuation.pk}/",
    ]
    found = {}
    for scheme in ("light", "dark"):
        # axe is added as a script of the test's own: the CSP (rightly) forbids it to the page.
        context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True, color_scheme=scheme)
        page = context.new_page()
        page.goto(f"{base_url}/login/")
        page.fill("input[name=username]", "a11y-admin")
        page.fill("input[name=password]", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{base_url}/")
        for url in pages:
            page.goto(f"{base_url}{url}")
            page.wait_for_load_state("networkidle")
            page.add_script_tag(path=str(AXE))
            problems = page.evaluate(SERIOUS)
            if problems:
                found[f"{scheme} {url}"] = problems
        page.screenshot(path=ARTIFACTS / f"a11y-{scheme}.png")
        context.close()
    for where, problems in found.items():
        print(where, problems)
    assert found == {}
