"""libvirt XML for admins: view, diff, apply as an Operation, and every refusal, on the test driver."""

import re

import pytest

from webvirt.core.actions import perform
from webvirt.core.definitions import NewDefinition
from webvirt.core.models import Operation
from webvirt.guests.models import Guest
from webvirt.hosts.sync import sync_host
from webvirt.hypervisor.definitions import digest

from ..conftest import UserFactory

# Operations run when the request's transaction commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def beta(test_host):
    return Guest.objects.get(host=test_host, name="beta")


def _memory(xml, kib):
    xml = re.sub(r"<memory unit='KiB'>\d+</memory>", f"<memory unit='KiB'>{kib}</memory>", xml)
    return re.sub(
        r"<currentMemory unit='KiB'>\d+</currentMemory>", f"<currentMemory unit='KiB'>{kib}</currentMemory>", xml
    )


def _post(client, url, xml, step, base=None):
    """Post the editor's form; "apply" confirms the preview of this very XML."""
    return client.post(url, {"xml": xml, "base": base or "", "step": step, "previewed": digest(xml)})


def test_admin_sees_the_persistent_definition_in_a_labelled_editor(admin_client, beta):
    page = admin_client.get(f"/guests/{beta.pk}/xml/").content.decode()
    assert '<label for="id_xml">libvirt XML</label>' in page
    assert "&lt;name&gt;beta&lt;/name&gt;" in page
    assert f"&lt;uuid&gt;{beta.uuid}&lt;/uuid&gt;" in page
    assert "libvirt XML" in admin_client.get(f"/guests/{beta.pk}/?tab=hardware").content.decode()


def test_preview_shows_a_diff_and_queues_nothing(admin_client, beta):
    edited = _memory(beta.definition, 262144)
    page = _post(admin_client, f"/guests/{beta.pk}/xml/", edited, "preview").content.decode()
    assert '<span class="removed">-  &lt;memory unit=&#x27;KiB&#x27;&gt;131072&lt;/memory&gt;</span>' in page
    assert '<span class="added">+  &lt;memory unit=&#x27;KiB&#x27;&gt;262144&lt;/memory&gt;</span>' in page
    assert 'value="apply"' in page
    assert not Operation.objects.exists()


def test_xml_edited_after_its_preview_is_previewed_again_not_applied(admin_client, beta):
    url = f"/guests/{beta.pk}/xml/"
    previewed = _memory(beta.definition, 262144)
    edited = _memory(beta.definition, 524288)
    data = {"xml": edited, "step": "apply", "previewed": digest(previewed)}
    page = admin_client.post(url, data).content.decode()
    assert "524288" in page.split('id="xml-diff"')[1].split("</section>")[0]
    assert f'name="previewed" value="{digest(edited)}"' in page
    assert not Operation.objects.exists()


def test_unchanged_xml_says_so(admin_client, beta):
    page = _post(admin_client, f"/guests/{beta.pk}/xml/", beta.definition, "apply").content.decode()
    assert "No changes" in page
    assert not Operation.objects.exists()


def test_apply_redefines_the_guest_and_rereads_the_inventory(admin_client, beta):
    edited = _memory(beta.definition, 262144).replace("\n", "\r\n")  # as a browser's textarea sends it
    response = _post(admin_client, f"/guests/{beta.pk}/xml/", edited, "apply", base=digest(beta.definition))
    operation = Operation.objects.get(kind="guest.define-xml")
    assert response.url == f"/operations/{operation.pk}/"
    assert operation.status == "succeeded", operation.message
    assert operation.message == "Definition saved."
    beta.refresh_from_db()
    assert beta.memory_mib == 256
    assert "<memory unit='KiB'>262144</memory>" in beta.definition


def test_a_running_guest_is_told_when_the_change_applies(admin_client, test_host):
    alpha = Guest.objects.get(host=test_host, name="alpha")
    edited = alpha.definition.replace("<vcpu placement='static'>1</vcpu>", "<vcpu placement='static'>2</vcpu>")
    assert edited != alpha.definition
    _post(admin_client, f"/guests/{alpha.pk}/xml/", edited, "apply")
    operation = Operation.objects.get(kind="guest.define-xml")
    assert operation.message == "Definition saved; it takes effect the next time it starts."
    alpha.refresh_from_db()
    assert "<vcpu placement='static'>2</vcpu>" in alpha.definition


def test_non_admins_are_refused_and_told_why(client, beta):
    owner = UserFactory()
    beta.owner = owner
    beta.save()
    client.force_login(owner)
    response = client.get(f"/guests/{beta.pk}/xml/")
    assert response.status_code == 403
    assert "Only admins may read or edit libvirt XML" in response.content.decode()
    response = _post(client, f"/guests/{beta.pk}/xml/", _memory(beta.definition, 262144), "apply")
    assert response.status_code == 403
    hardware = client.get(f"/guests/{beta.pk}/?tab=hardware")
    assert hardware.status_code == 200 and "libvirt XML" not in hardware.content.decode()
    assert not Operation.objects.exists()


def test_a_guest_one_cannot_see_is_not_found(outsider_client, beta):
    assert outsider_client.get(f"/guests/{beta.pk}/xml/").status_code == 404


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda xml: xml.replace("<name>beta</name>", "<name>gamma</name>"),
            "The name must stay beta (the XML says gamma)",
        ),
        (
            lambda xml: re.sub(r"<uuid>[^<]+</uuid>", "<uuid>00000000-0000-0000-0000-000000000001</uuid>", xml),
            "The UUID must stay",
        ),
        (lambda xml: xml.replace("</devices>", "<devices>", 1), "The XML is not well-formed on line"),
        (lambda xml: "<network><name>beta</name></network>", "is a &lt;domain&gt; element, not &lt;network&gt;"),
    ],
)
def test_bad_xml_is_refused_on_the_page_before_anything_is_queued(admin_client, beta, change, words):
    for step in ("preview", "apply"):
        response = _post(admin_client, f"/guests/{beta.pk}/xml/", change(beta.definition), step)
        assert response.status_code == 400
        assert words in response.content.decode()
    assert not Operation.objects.exists()


def test_libvirt_validation_failure_fails_the_operation_in_words_and_changes_nothing(admin_client, beta):
    before = beta.definition
    edited = beta.definition.replace("</devices>", "</devices><bogus/>")
    _post(admin_client, f"/guests/{beta.pk}/xml/", edited, "apply")
    operation = Operation.objects.get(kind="guest.define-xml")
    assert operation.status == "failed"
    assert operation.message.startswith("Nothing changed: libvirt refused the XML")
    assert "bogus" in operation.detail
    beta.refresh_from_db()
    assert beta.definition == before
    # Plain words on the operation page and in tables, libvirt's own text behind "Details".
    for url in (f"/operations/{operation.pk}/", "/operations/", f"/guests/{beta.pk}/?tab=operations"):
        page = admin_client.get(url).content.decode()
        assert "Nothing changed: libvirt refused the XML" in page
        details = page.split('<details class="detail"><summary>Details</summary><pre>', 1)[1].split("</pre>")[0]
        assert "Element domain has extra content: bogus" in details


def test_an_edit_of_a_definition_changed_meanwhile_is_refused(admin_client, beta):
    stale = digest(beta.definition)
    Guest.objects.filter(pk=beta.pk).update(definition=_memory(beta.definition, 65536))
    response = _post(admin_client, f"/guests/{beta.pk}/xml/", _memory(beta.definition, 262144), "apply", base=stale)
    assert response.status_code == 400
    assert "changed since it was shown" in response.content.decode()
    assert not Operation.objects.exists()


def test_the_worker_refuses_a_definition_changed_on_the_host(admin, admin_client, beta):
    """The host's definition moved on after the inventory was read: the worker saves nothing."""
    from webvirt.hosts.connections import connection_spec
    from webvirt.hypervisor.definitions import redefine

    redefine(
        connection_spec(beta.host),
        "guest",
        beta.uuid,
        _memory(beta.definition, 65536),
        name="beta",
        base=digest(beta.definition),
    )
    params = NewDefinition(xml=_memory(beta.definition, 262144), base=digest(beta.definition))
    operation = perform("guest.define-xml", actor=admin, target=beta, params=params)
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert "changed on the host since it was shown; nothing was saved" in operation.message
    assert operation.detail == ""  # webvirt's own words: shown as they are, with nothing behind them
    page = admin_client.get(f"/operations/{operation.pk}/").content.decode()
    assert "nothing was saved" in page
    assert "<summary>Details</summary>" not in page
    beta.refresh_from_db()
    assert "<memory unit='KiB'>65536</memory>" in beta.definition  # re-read afterwards


def test_pools_and_networks_are_edited_the_same_way(admin, admin_client, storage_host):
    pool = storage_host.pools.get(name="images")
    network = storage_host.networks.get(name="lan")
    # The test driver shows only the live XML of an active pool or network, so edit stopped ones.
    perform("pool.stop", actor=admin, target=pool)
    perform("network.stop", actor=admin, target=network)
    pool.refresh_from_db()
    network.refresh_from_db()
    pool_url = f"/hosts/{storage_host.pk}/storage/{pool.pk}/xml/"
    network_url = f"/hosts/{storage_host.pk}/networks/{network.pk}/xml/"
    assert "&lt;name&gt;images&lt;/name&gt;" in admin_client.get(pool_url).content.decode()
    assert "libvirt XML" in admin_client.get(pool.get_absolute_url()).content.decode()
    assert "libvirt XML" in admin_client.get(network.get_absolute_url()).content.decode()
    _post(admin_client, pool_url, pool.definition.replace("/var/lib/libvirt/images", "/srv/images"), "apply")
    _post(admin_client, network_url, network.definition.replace("10.9.0.99", "10.9.0.200"), "apply")
    for kind in ("pool", "network"):
        operation = Operation.objects.get(kind=f"{kind}.define-xml")
        assert operation.status == "succeeded", operation.message
    pool.refresh_from_db()
    network.refresh_from_db()
    assert "/srv/images" in pool.definition
    assert network.dhcp_end == "10.9.0.200"
    bad = network.definition.replace("<name>lan</name>", "<name>wan</name>")
    assert _post(admin_client, network_url, bad, "apply").status_code == 400


def test_the_api_reads_and_writes_definitions(admin, api, make_token, beta, storage_host):
    client = api(make_token(admin)[1])
    body = client.get(f"/api/v1/guests/{beta.pk}/xml/").json()
    assert body == {"xml": beta.definition, "base": digest(beta.definition)}
    response = client.put(f"/api/v1/guests/{beta.pk}/xml/", {"xml": _memory(body["xml"], 262144)}, format="json")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert Operation.objects.get(kind="guest.define-xml").status == "succeeded"
    beta.refresh_from_db()
    assert beta.memory_mib == 256
    renamed = body["xml"].replace("<name>beta</name>", "<name>gamma</name>")
    response = client.put(f"/api/v1/guests/{beta.pk}/xml/", {"xml": renamed}, format="json")
    assert response.status_code == 400
    assert "The name must stay beta (the XML says gamma)" in str(response.json())
    stale = client.put(f"/api/v1/guests/{beta.pk}/xml/", {"xml": body["xml"], "base": body["base"]}, format="json")
    assert stale.status_code == 400
    assert "changed since it was shown" in str(stale.json())
    assert client.put(f"/api/v1/guests/{beta.pk}/xml/", ["not", "a", "dict"], format="json").status_code == 400
    surrogate = b'{"xml": "<domain>\\ud800</domain>"}'
    response = client.put(f"/api/v1/guests/{beta.pk}/xml/", surrogate, content_type="application/json")
    assert response.status_code == 400
    assert "Surrogate characters are not allowed" in str(response.json())  # JSON can carry them; XML cannot
    bogus = beta.definition.replace("</devices>", "</devices><bogus/>")
    refused = client.put(f"/api/v1/guests/{beta.pk}/xml/", {"xml": bogus}, format="json").json()
    failed = client.get(refused["url"]).json()
    assert failed["status"] == "failed"
    assert failed["message"].startswith("Nothing changed: libvirt refused the XML")
    assert "bogus" in failed["detail"]
    network = storage_host.networks.get(name="lan")
    assert client.get(f"/api/v1/networks/{network.pk}/xml/").json()["xml"] == network.definition
    pool = storage_host.pools.get(name="images")
    assert client.get(f"/api/v1/pools/{pool.pk}/xml/").json()["xml"] == pool.definition


def test_the_api_refuses_non_admins(api, make_token, beta):
    owner = UserFactory()
    beta.owner = owner
    beta.save()
    client = api(make_token(owner)[1])
    response = client.get(f"/api/v1/guests/{beta.pk}/xml/")
    assert response.status_code == 403
    assert "Only admins may read or edit libvirt XML" in response.json()["message"]
    response = client.put(f"/api/v1/guests/{beta.pk}/xml/", {"xml": beta.definition}, format="json")
    assert response.status_code == 403
    assert not Operation.objects.exists()


def test_a_guest_with_a_console_password_is_not_redefined(admin, make_test_host):
    """The XML shown leaves the password out, so saving it would remove it: the worker refuses."""
    host = make_test_host(name="secure", guests=[{"name": "locked", "state": "shutoff"}], sync=False)
    with open(host.test_path) as f:
        text = f.read()
    with open(host.test_path, "w") as f:
        f.write(text.replace("</devices>", "<graphics type='vnc' port='-1' passwd='s3cret'/></devices>", 1))
    sync_host(host)
    locked = Guest.objects.get(host=host, name="locked")
    assert "s3cret" not in locked.definition
    params = NewDefinition(xml=_memory(locked.definition, 262144), base=digest(locked.definition))
    operation = perform("guest.define-xml", actor=admin, target=locked, params=params)
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert "console has a password" in operation.message and "nothing was saved" in operation.message
    locked.refresh_from_db()
    assert locked.memory_mib == 128
