"""No request gets a 5xx, whatever its ids, query string or form values.

Every URL pattern of the project is walked through Django's resolver, as an admin and as a plain
user who owns a guest and was given the rest:
- each id in the path as a huge number, 2**63, zero, a negative or a non-number is a 404;
- with real ids (every object here shares one id, so any `<id:...>` finds an object) and each known
  value of the slug parameters, the walk records which query, form and file keys the view reads,
  then sends each garbage value in each of those keys, alone and all at once, until no new key shows.
Each request runs in a savepoint that is rolled back, so no request changes what the next one meets.
A new view is walked without being listed; a new slug parameter must name its values in SLUGS.
"""

import itertools
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from tests.conftest import UserFactory
from webvirt.accounts.forms import PublishForm, TeamForm
from webvirt.accounts.models import PUBLISHABLE, SSHKey, Team
from webvirt.consoles.views import PAGES as CONSOLE_KINDS
from webvirt.core.models import Operation
from webvirt.guests.change_forms import CHANGE_FORMS
from webvirt.guests.create_forms import GuestCreateForm, HostChoiceForm
from webvirt.guests.forms import GrantForm, GuestFilterForm, RevokeForm
from webvirt.guests.models import Disk, Flavor, Grant, Guest, Nic, Snapshot
from webvirt.hosts.models import Host
from webvirt.hypervisor import POWER_ACTIONS
from webvirt.hypervisor.networks import NETWORK_ACTIONS
from webvirt.hypervisor.storage import POOL_ACTIONS
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

REAL_ID = 4242
BAD_IDS = ("99999999999999999999", str(2**63), "0", "-1", "abc")
GARBAGE = (str(2**63), "-1", "abc", "\x00", "NaN", "1e400", "\u202e..", "")
SLUGS = {
    "action": {
        *POWER_ACTIONS,
        *POOL_ACTIONS,
        *NETWORK_ACTIONS,
        "resize",
        "clone",
        "disable",
        "reset-password",
        "reset-two-factor",
    },
    "what": set(CHANGE_FORMS),
    "kind": {*PUBLISHABLE, *CONSOLE_KINDS},
    "target": {"vda", "sda"},  # a backup's disks
}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
WORDS = {None, "str", "slug"}  # converters of words; any other parameter is taken for an id


def routes(patterns=None, prefix=""):
    """(route, name) of every URL pattern, includes followed."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.name


def fill(route, values):
    """The URL of `route` with its parameters replaced, in order, by `values`."""
    values = iter(values)
    return "/" + PARAMETER.sub(lambda _: next(values), route)


def real_urls(route):
    """The route with real ids, once per combination of known slug values plus an unknown one."""
    choices = []
    for match in PARAMETER.finditer(route):
        converter, name = match["converter"], match["name"]
        if converter not in WORDS:
            choices.append([str(REAL_ID)])
        else:
            assert name in SLUGS, f"{route}: add the values of <{converter}:{name}> to SLUGS"
            choices.append([*sorted(SLUGS[name]), "no-such-thing"])
    for values in itertools.product(*choices):
        yield fill(route, values)


def bad_id_urls(route):
    """The route with one id at a time replaced by a bad value (the others real, slugs made up)."""
    converters = [match["converter"] for match in PARAMETER.finditer(route)]
    ids = [index for index, converter in enumerate(converters) if converter not in WORDS]
    for bad_index, bad in itertools.product(ids, BAD_IDS):
        values = [bad if i == bad_index else "x" if c in WORDS else str(REAL_ID) for i, c in enumerate(converters)]
        yield fill(route, values)


@pytest.fixture
def world(db, tmp_path, settings):
    """One object of every kind, each with id REAL_ID; the plain user owns the guest and was given the rest.
    Accepted uploads are staged in a temporary folder (a rolled-back request leaves its file)."""
    settings.WEBVIRT_UPLOAD_DIR = tmp_path
    admin = UserFactory(username="root", is_staff=True)
    dev = UserFactory(id=REAL_ID, username="dev")
    team = Team.objects.create(id=REAL_ID, name="ops")
    team.members.add(dev)
    SSHKey.objects.create(id=REAL_ID, user=dev, name="laptop", public_key="ssh-ed25519 AAAA", fingerprint="f")
    host_file = tmp_path / "host.xml"
    host_file.write_text("<node/>")
    host = Host.objects.create(
        id=REAL_ID, name="h", transport="test", test_path=str(host_file), reachable=True, cpus=4, memory_mib=8192
    )
    pool = Pool.objects.create(
        id=REAL_ID, host=host, uuid="p", name="images", type="dir", state="active", capacity=2**40, available=2**40
    )
    Volume.objects.create(
        id=REAL_ID, pool=pool, name="base.qcow2", path="/i/base.qcow2", format="qcow2", capacity=2**30, allocation=2**29
    )
    Volume.objects.create(pool=pool, name="debian.iso", path="/i/debian.iso", format="raw", capacity=2**20)
    network = Network.objects.create(id=REAL_ID, host=host, uuid="n", name="lan", active=True, mode="nat")
    flavor = Flavor.objects.create(id=REAL_ID, name="small", vcpus=1, memory_mib=256, disk_gib=1)
    for obj in (host, pool, network, flavor, *pool.volumes.all()):
        obj.public = True
        obj.save()
    guest = Guest.objects.create(
        id=REAL_ID, host=host, uuid="g", name="vm", owner=dev, state="running", vnc_listen="127.0.0.1", vnc_port=5900
    )
    Disk.objects.create(guest=guest, target="vda", device="disk", source="/i/vm.qcow2", format="qcow2")
    Nic.objects.create(guest=guest, mac="52:54:00:00:00:01", kind="network", source="lan")
    Snapshot.objects.create(
        id=REAL_ID, guest=guest, name="before", created_at=timezone.now(), vcpus=2, memory_mib=256, disks=[]
    )
    Grant.objects.create(id=REAL_ID, guest=guest, team=team, role="viewer")
    Operation.objects.create(id=REAL_ID, kind="guest.start", actor=dev, host=host, guest=guest, target="vm on h")
    return {"admin": admin, "plain user": dev}


@pytest.fixture
def reads(monkeypatch):
    """Records (dict, key) for every key looked up in a request's GET, POST or FILES; changes nothing."""
    seen = []
    for method in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(MultiValueDict, method)

        def recording(self, key, *args, _original=original, **kwargs):
            seen.append((id(self), key))
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(MultiValueDict, method, recording)
    return seen


class Walk:
    """Requests as one user; collects server errors and the keys the views were seen to read."""

    def __init__(self, client, user, reads):
        self.client, self.reads, self.failures, self.keys_seen = client, reads, [], set()
        client.force_login(user)
        self.session = client.cookies[settings.SESSION_COOKIE_NAME].value

    def request(self, method, url, keys=(), value=""):
        """One request, in a savepoint rolled back after it, carrying `value` in each of `keys`
        ((where, key) pairs); returns the keys the view read and the response (None if it raised)."""
        query = {key: value for where, key in keys if where == "GET"}
        data = {key: value for where, key in keys if where == "POST"}
        data |= {
            key: SimpleUploadedFile(f"{value}.img", value.encode() * 512) for where, key in keys if where == "FILES"
        }
        full_url = f"{url}{'&' if '?' in url else '?'}{urlencode(query)}" if query else url
        self.client.cookies.clear()
        self.client.cookies[settings.SESSION_COOKIE_NAME] = self.session  # a logout must not end the walk
        del self.reads[:]
        try:
            with transaction.atomic():
                response = getattr(self.client, method)(full_url, data)
                transaction.set_rollback(True)
        except Exception as exc:  # any exception is what this test looks for
            self.failures.append(f"{method.upper()} {full_url} {data!r}: {exc!r}")
            return set(), None
        if response.status_code >= 500:
            self.failures.append(f"{method.upper()} {full_url} {data!r}: {response.status_code}")
        return keys_read(response.wsgi_request, self.reads), response

    def garbage_walk(self, method, url):
        """Garbage in every key the view reads, one key at a time (until no new key shows), then all at once."""
        where = "GET" if method == "get" else "POST"
        keys, _ = self.request(method, url, [(where, "probe")], "1")  # not empty: `Form(request.POST or None)` binds
        keys.discard((where, "probe"))
        tried = set()
        while keys - tried:
            for key in sorted(keys - tried):
                tried.add(key)
                for value in GARBAGE:
                    keys |= self.request(method, url, [key], value)[0]
        for value in GARBAGE if len(keys) > 1 else ():
            self.request(method, url, keys, value)
        self.keys_seen |= {(url, method.upper(), where, key) for where, key in keys}


def keys_read(request, reads):
    """The (GET/POST/FILES, key) pairs `request`'s views looked up."""
    dicts = {"GET": request.__dict__.get("GET"), "POST": getattr(request, "_post", None)}
    dicts["FILES"] = getattr(request, "_files", None)
    by_id = {id(d): where for where, d in dicts.items() if d is not None}
    return {(by_id[dict_id], key) for dict_id, key in reads if dict_id in by_id}


def test_bad_ids_never_reach_a_view():
    """Ids go through <id:...>: huge, zero, signed and non-numbers are refused by the resolver."""
    urls = [url for route, _ in routes() for url in bad_id_urls(route)]
    reached = []
    for url in urls:
        try:
            resolve(url)
        except Resolver404:
            continue
        reached.append(url)
    assert len(urls) > 100 and not reached, reached


@pytest.mark.parametrize("persona", ["admin", "plain user"])
def test_bad_ids_are_404(client, world, reads, persona):
    walk = Walk(client, world[persona], reads)
    wrong = []
    for route, _ in routes():
        for url in bad_id_urls(route):
            for method in ("get", "post"):
                response = walk.request(method, url)[1]
                if response is not None and response.status_code != 404:
                    wrong.append(f"{method.upper()} {url}: {response.status_code}")
    assert not walk.failures and not wrong, "\n".join(walk.failures + wrong)


@pytest.mark.parametrize("persona", ["admin", "plain user"])
def test_no_garbage_gets_a_server_error(client, world, reads, persona):
    walk = Walk(client, world[persona], reads)
    for route, _ in routes():
        for url in real_urls(route):
            for method in ("get", "post"):
                walk.garbage_walk(method, url)
    assert not walk.failures, f"{len(walk.failures)} server errors:\n" + "\n".join(walk.failures)
    # The walk reached the forms: a few keys each persona's views are known to read.
    known = {
        ("/guests/", "GET", "GET", "host"),
        (f"/guests/{REAL_ID}/access/", "POST", "POST", "remove"),
        ("/guests/new/", "POST", "POST", "name"),
    }
    assert known <= walk.keys_seen


@pytest.mark.parametrize("value", BAD_IDS)
def test_choice_fields_refuse_impossible_ids(world, value):
    """On this run's database (the suite runs on SQLite and PostgreSQL): invalid, never an exception."""
    hosts, guest = Host.objects.all(), Guest.objects.get()
    forms = [
        PublishForm({"teams": [value]}),
        TeamForm({"name": "x", "members": [value]}),
        GrantForm({"team": value, "role": "viewer"}),
        RevokeForm({"remove": value}, guest=guest),
        GuestFilterForm({"host": value}, hosts=hosts),
        HostChoiceForm({"host": value}, hosts=hosts),
        GuestCreateForm({"pool": value, "network": value, "template": value}, host=hosts.get(), user=guest.owner),
    ]
    for form in forms:
        assert not form.is_valid()
        assert {"teams", "members", "team", "remove", "host", "pool", "network", "template"} & set(form.errors)
