"""libvirt's errors in plain words, with libvirt's own text kept as detail: real errors from the
test driver through the one translation (connection.translated_errors), and the table's phrases."""

import libvirt
import pytest

from tests.conftest import HOST_WITH_STORAGE, host_file_xml
from webvirt.hypervisor import ConnectionSpec, GuestNotFound, HypervisorError, InvalidState
from webvirt.hypervisor.connection import session
from webvirt.hypervisor.errors import TRANSLATIONS, plain_words

VOLUME = "<volume><name>debian.iso</name><capacity>1024</capacity><target><format type='raw'/></target></volume>"

CASES = {
    "no guest": (
        GuestNotFound,
        lambda conn: conn.lookupByName("missing"),
        "The guest is not defined on its host any more",
        "Domain not found",
    ),
    "guest not running": (
        InvalidState,
        lambda conn: conn.lookupByName("beta").destroy(),
        "The guest is not in a state that allows this",
        "domain is not running",
    ),
    "no pool": (
        HypervisorError,
        lambda conn: conn.storagePoolLookupByName("missing"),
        "The storage pool is not defined on its host any more",
        "Storage pool not found",
    ),
    "volume exists": (
        HypervisorError,
        lambda conn: conn.storagePoolLookupByName("images").createXML(VOLUME, 0),
        "Something with that name already exists on the host",  # a generic code on the test driver
        "storage vol already exists",
    ),
    "no network": (
        HypervisorError,
        lambda conn: conn.networkLookupByName("missing"),
        "The network is not defined on its host any more",
        "Network not found",
    ),
    "bad XML": (
        HypervisorError,
        lambda conn: conn.defineXMLFlags("<domain type='test'><name>x</name><bogus/></domain>", 1),
        "libvirt refused the XML",
        "Element domain has extra content: bogus",
    ),
}


@pytest.fixture
def conn_spec(tmp_path):
    """A test-driver host with the guest beta shut off, the pool images and the network lan."""
    storage = HOST_WITH_STORAGE.format(capacity=2**30).strip().removeprefix("<node>").removesuffix("</node>")
    path = tmp_path / "host.xml"
    path.write_text(host_file_xml([{"name": "beta", "state": "shutoff"}]).replace("</node>", f"{storage}</node>"))
    return ConnectionSpec(transport="test", test_path=str(path))


@pytest.mark.parametrize("case", list(CASES))
def test_a_translated_error_says_plain_words_and_keeps_libvirts_text(conn_spec, case):
    cls, call, words, raw = CASES[case]
    with pytest.raises(cls) as caught, session(conn_spec) as conn:
        call(conn)
    assert str(caught.value).startswith(words)
    assert raw in caught.value.detail
    assert raw not in str(caught.value)


def test_an_untranslated_error_keeps_libvirts_text(conn_spec):
    with pytest.raises(HypervisorError) as caught, session(conn_spec) as conn:
        conn.lookupByName("beta").reboot(12345)  # flags libvirt does not know
    assert "unsupported flags" in str(caught.value)
    assert caught.value.detail == ""


@pytest.mark.parametrize(
    ("code", "message", "words"),
    [
        (libvirt.VIR_ERR_SYSTEM_ERROR, "cannot write /var/lib/x: No space left on device", "ran out of disk space"),
        (libvirt.VIR_ERR_INTERNAL_ERROR, "open /dev/kvm: Permission denied", "permission denied"),
        (libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket: Connection refused", "refused the connection"),
        (libvirt.VIR_ERR_AGENT_UNRESPONSIVE, "Guest agent is not responding", "qemu-guest-agent"),
        (libvirt.VIR_ERR_OPERATION_TIMEOUT, "cannot acquire state change lock", "did not finish in time"),
        (libvirt.VIR_ERR_CONFIG_UNSUPPORTED, "unsupported configuration: ...", "does not support this configuration"),
        (libvirt.VIR_ERR_STORAGE_VOL_EXIST, "storage volume already exists: 'a.qcow2'", "A volume with that name"),
        # libvirt 9.0's words for a guest on an Open vSwitch network while ovs-vswitchd is down, and
        # for a guest on a bridge-mode network whose host bridge is missing
        (libvirt.VIR_ERR_INTERNAL_ERROR, "Unable to add port vnet1 to OVS bridge wvovs0", "Open vSwitch on the host"),
        (libvirt.VIR_ERR_SYSTEM_ERROR, "Cannot get interface MTU on 'br-x': No such device", "no bridge of the name"),
        (libvirt.VIR_ERR_INVALID_ARG, "unsupported flags", None),
    ],
)
def test_the_table_reads_codes_and_phrases(code, message, words):
    found = plain_words(code, message)
    assert (found is None) if words is None else (words in found)


def test_every_translation_is_a_sentence_with_advice():
    for words in TRANSLATIONS.values():
        assert words[0].isupper() or words.startswith("libvirt")
        assert words.endswith(".")


def test_places_without_details_show_libvirts_words_after_the_advice(test_host, conn_spec):
    """A host's status has no "Details" to open: it keeps both."""
    from webvirt.hosts.sync import record_unreachable

    with pytest.raises(GuestNotFound) as caught, session(conn_spec) as conn:
        conn.lookupByName("missing")
    record_unreachable(test_host, caught.value)
    test_host.refresh_from_db()
    assert test_host.last_error.startswith("The guest is not defined on its host any more")
    assert test_host.last_error.endswith("libvirt said: Domain not found")
    assert HypervisorError("Plain.").full_text == "Plain."
