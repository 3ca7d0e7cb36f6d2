"""Every guest page and action, for every persona, with the answer the policy promises.

Personas: admin, the owner, users granted editor / operator / console / viewer, a member of a team
granted operator, and an outsider. A user who cannot see the guest gets 404; one who can see it but
lacks the role gets 403; one who may act gets the page, or has the request accepted: no error
message, and the Operation queued where the action queues one. Every request carries valid data, so
a form or service that turned away someone the policy allows shows here as "refused: <message>".
Tasks do not run here (no transaction commits), so every request meets the same guest.
"""

import datetime

import pytest
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from tests.conftest import UserFactory
from webvirt.accounts.models import Team
from webvirt.consoles import urls as console_urls_module
from webvirt.core import policy
from webvirt.core.actions import catalogue
from webvirt.core.converters import DatabaseIdConverter
from webvirt.core.models import Operation
from webvirt.guests import roles
from webvirt.guests import urls as guest_urls_module
from webvirt.guests.models import Grant, Guest, Snapshot
from webvirt.hosts.models import Host
from webvirt.hypervisor.definitions import digest
from webvirt.lifecycle.models import PowerSchedule
from webvirt.networks.models import Network
from webvirt.storage.models import Pool, Volume

PERSONAS = ("admin", "owner", "editor", "operator", "console", "viewer", "team_operator", "outsider")
PERSONA_ROLE = {
    "owner": "owner",
    "editor": "editor",
    "operator": "operator",
    "console": "console",
    "viewer": "viewer",
    "team_operator": "operator",
}

# (policy action, how to ask for it): method, URL name, URL args after the guest id, valid data.
# Method "policy" asks webvirt.core.policy directly, for actions that no page performs.
MATRIX = {
    "view": [("get", "guests:detail", (), None), ("get", "metrics:guest", (), None)],
    "console": [
        ("get", "consoles:vnc", (), None),
        ("get", "consoles:serial", (), None),
        ("post", "consoles:ticket", ("serial",), None),
    ],
    # Asked by the serial console's WebSocket consumer, not a page: the policy's own answer is
    # checked here, the consumer in tests/integration/test_serial_console.py.
    "console_takeover": [("policy", None, (), None)],
    **{
        action: [("post", "guests:power", (action,), None)]
        for action in ("start", "shutdown", "destroy", "reboot", "reset", "suspend", "resume")
    },
    "configure": [
        ("post", "guests:change", ("settings",), {"name": "g1", "boot": "hd"}),
        ("post", "guests:change", ("resize",), {"vcpus": 1, "memory_mib": 128}),
        ("post", "guests:change", ("disk_grow",), {"target": "vda", "size_gib": 1}),
        ("post", "guests:change", ("disk_detach",), {"target": "vda"}),
        ("post", "guests:change", ("disk_add",), {"pool": "POOL", "size_gib": 1, "format": "qcow2"}),
        ("post", "guests:change", ("disk_attach",), {"volume": "VOLUME"}),
        ("post", "guests:change", ("media",), {"iso": ""}),
        ("post", "guests:change", ("nic_add",), {"network": "lan"}),
        ("post", "guests:change", ("nic_change",), {"mac": "52:54:00:00:00:01", "network": "lan"}),
        ("post", "guests:change", ("nic_remove",), {"mac": "52:54:00:00:00:01"}),
        ("post", "guests:change", ("fs_freeze",), {}),
        ("post", "guests:change", ("fs_thaw",), {}),
    ],
    "snapshot": [
        ("post", "guests:change", ("snapshot_create",), {"name": "s1"}),
        ("get", "guests:snapshot-revert", ("SNAPSHOT",), None),
        ("post", "guests:snapshot-revert", ("SNAPSHOT",), {}),
        ("post", "guests:change", ("snapshot_delete",), {"name": "before"}),
    ],
    "clone": [("post", "guests:change", ("clone",), {"name": "g1-copy", "mode": "linked"})],
    "migrate": [
        ("get", "guests:migrate", (), None),
        ("post", "guests:migrate", (), {"destination": "DESTINATION"}),
        ("post", "guests:migration-cancel", (), {}),
    ],
    "share": [("post", "guests:access", (), {"username": "viewer", "role": "viewer"})],
    "delete": [("get", "guests:delete", (), None), ("post", "guests:delete", (), {"confirm_name": "beta"})],
    "renew": [("post", "lifecycle:renew", (), {"days": "3"})],
    # Admin-only, whatever the role: a definition reaches any file or device on the host.
    "xml.edit": [
        ("get", "guests:xml", (), None),
        ("post", "guests:xml", (), {"xml": "XML", "step": "apply", "previewed": "PREVIEWED"}),
    ],
}
# Who is on the console, and handing its keyboard over: for those who may open it.
MATRIX["console"].append(("get", "consoles:presence", ("vnc",), None))
# A power schedule starts and stops the guest: who may start it may set one.
MATRIX["start"].append(("post", "lifecycle:guest-schedule", (), {"days": "1", "start_at": "08:00", "time_zone": "UTC"}))
# ...and exempt it from its team's schedule, and have it follow that again.
MATRIX["start"] += [
    ("post", "lifecycle:guest-exemption", (), {"team": "TEAM", "reason": "a long job"}),
    ("post", "lifecycle:guest-exemption", (), {"team": "TEAM", "follow": "1"}),
]
ADMIN_ONLY = {"xml.edit"}
QUEUES_AN_OPERATION = {
    "guests:power",
    "guests:change",
    "guests:delete",
    "guests:snapshot-revert",
    "guests:xml",
    "guests:migrate",
}
# Asked of the guest running (consoles too); everything else is asked of it shut off.
NEEDS_RUNNING = {("guests:change", "fs_freeze"), ("guests:change", "fs_thaw")}


def expected(persona, action):
    if persona == "admin":
        return "allowed"
    role = PERSONA_ROLE.get(persona)
    if role is None:
        return 404
    if action in ADMIN_ONLY:
        return 403
    return "allowed" if roles.RANK[role] >= roles.RANK[roles.GUEST_ACTIONS[action]] else 403


@pytest.fixture
def people(db, test_host, make_test_host):
    """The shut-off guest beta, its personas, a published pool and network for its forms, and a
    second host open to all that can take beta (its network, a pool at its disk's folder), with a
    move of beta under way for the cancel button."""
    guest = Guest.objects.get(host=test_host, name="beta")
    test_host.public = True
    test_host.save()
    destination = make_test_host("elsewhere", guests=())
    destination.public = True
    destination.save()
    Pool.objects.create(
        host=destination, uuid="d", name="images", type="dir", state="active", target_path="/images", available=2**40
    )
    Network.objects.create(host=destination, uuid="dn", name="default", active=True, mode="nat")
    users = {name: UserFactory(username=name, is_staff=name == "admin") for name in PERSONAS}
    guest.owner = users["owner"]
    guest.save()
    team = Team.objects.create(name="ops")
    team.members.add(users["team_operator"])
    PowerSchedule.objects.create(team=team, days=[0], stop_at=datetime.time(18), time_zone="UTC")
    for persona, role in PERSONA_ROLE.items():
        if persona == "team_operator":
            Grant.objects.create(guest=guest, team=team, role=role)
        elif persona != "owner":
            Grant.objects.create(guest=guest, user=users[persona], role=role)
    pool = Pool.objects.create(
        host=test_host, uuid="p", name="images", type="dir", state="active", capacity=2**40, public=True
    )
    pool.target_path = "/images"
    pool.save()
    Volume.objects.create(pool=pool, name="beta.qcow2", path="/images/beta.qcow2", capacity=2**29)
    Volume.objects.create(pool=pool, name="spare.qcow2", path="/images/spare.qcow2", capacity=2**30, public=True)
    Network.objects.create(host=test_host, uuid="n", name="lan", active=True, mode="nat", public=True)
    Snapshot.objects.create(guest=guest, name="before", created_at=timezone.now())
    Operation.objects.create(kind="guest.migrate", guest=guest, host=test_host, target="beta")
    return guest, users


def edited(guest):
    """The guest's definition with one change, so that applying it queues an Operation."""
    return guest.definition.replace("</devices>", "</devices><description>edited</description>")


def answer(request, response, queued):
    """ "allowed" if the request was served or accepted; otherwise the status or the refusal."""
    if response.status_code in (403, 404):
        return response.status_code
    refusals = [str(m) for m in messages.get_messages(response.wsgi_request) if m.level == messages.ERROR]
    if refusals:
        return f"refused: {' '.join(refusals)}"
    if response.status_code not in (200, 302):
        return response.status_code
    if request[0] == "post" and request[1] in QUEUES_AN_OPERATION and queued != 1:
        return f"accepted, but {queued} operations queued"
    return "allowed"


def test_the_matrix_covers_every_guest_action():
    assert set(MATRIX) - ADMIN_ONLY == set(roles.GUEST_ACTIONS), "add the new action to the matrix (and to policy)"


def test_the_matrix_covers_every_guest_url():
    """A new page or action on a guest must get a row here, or this fails."""
    covered = {name for requests in MATRIX.values() for _, name, _, _ in requests if name}
    guest_urls = {
        f"{module.app_name}:{pattern.name}"
        for module in (guest_urls_module, console_urls_module)
        for pattern in module.urlpatterns
        if isinstance(pattern.pattern.converters.get("pk"), DatabaseIdConverter) and "flavor" not in pattern.name
    }
    assert len(guest_urls) >= 8, "the guest URLs were not found: how do they name the guest's id?"
    assert guest_urls <= covered, f"guest URLs without a row in the matrix: {sorted(guest_urls - covered)}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(client, people, persona):
    guest, users = people
    ids = {"POOL": str(guest.host.pools.get().pk), "SNAPSHOT": str(guest.snapshots.get().pk)}
    ids["TEAM"] = str(Team.objects.get(name="ops").pk)
    ids["DESTINATION"] = str(Host.objects.get(name="elsewhere").pk)
    ids["VOLUME"] = str(Volume.objects.get(name="spare.qcow2").pk)
    ids |= {"XML": edited(guest), "PREVIEWED": digest(edited(guest))}
    client.force_login(users[persona])
    answers = {}
    for action, requests in MATRIX.items():
        for request in requests:
            method, name, args, data = request
            if method == "policy":
                user = users[persona]
                visible = policy.can(user, "view", guest)
                got = "allowed" if policy.can(user, action, guest) else (403 if visible else 404)
                answers[(action, method)] = (got, expected(persona, action))
                continue
            data = {key: ids.get(value, value) for key, value in (data or {}).items()}
            args = tuple(ids.get(arg, arg) for arg in args)
            running = action == "console" or (name, *args) in NEEDS_RUNNING
            Guest.objects.filter(pk=guest.pk).update(state="running" if running else "shutoff")
            before = Operation.objects.count()
            client.cookies.pop("messages", None)  # only this request's messages count
            response = getattr(client, method)(reverse(name, args=(guest.pk, *args)), data)
            got = answer(request, response, Operation.objects.count() - before)
            answers[(action, method, name, *args)] = (got, expected(persona, action))
    wrong = {request: pair for request, pair in answers.items() if pair[0] != pair[1]}
    assert not wrong, f"{persona}: (got, expected) {wrong}"


@pytest.mark.parametrize("persona", PERSONAS)
def test_lists_show_only_visible_guests(client, people, persona):
    _, users = people
    client.force_login(users[persona])
    names = [g.name for g in client.get(reverse("guests:list")).context["guests"]]
    assert ("beta" in names) is (persona != "outsider")
    assert ("alpha" in names) is (persona == "admin")  # nobody else owns or was granted it


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "admin"])
def test_host_pages_are_for_admins_only(client, people, test_host, persona):
    _, users = people
    client.force_login(users[persona])
    assert client.get(reverse("hosts:detail", args=[test_host.pk])).status_code == 404
    assert client.get(reverse("storage:pools", args=[test_host.pk])).status_code == 404
    assert client.get(reverse("accounts:users")).status_code == 403


def api_requests():
    """The API's counterpart of every page request above: (action, method, URL name, args, JSON)."""
    rows = []
    for action, requests in MATRIX.items():
        for method, name, args, data in requests:
            if name == "guests:detail":
                rows.append((action, "get", "api:guest-detail", (), None))
            elif name == "metrics:guest":
                rows.append((action, "get", "api:guest-metrics", (), None))
            elif name == "consoles:ticket":
                rows.append((action, "post", "api:guest-console", args, None))
            elif name == "guests:power":
                rows.append((action, "post", "api:guest-power", (), {"action": args[0]}))
            elif name == "guests:change":
                rows.append((action, "post", f"api:guest-change-{args[0]}", (), data))
            elif name == "guests:snapshot-revert" and method == "post":
                rows.append((action, "post", "api:guest-change-snapshot_revert", (), {"name": "before"}))
            elif name == "guests:access":
                rows += [
                    (action, "get", "api:guest-grants", (), None),
                    (action, "post", "api:guest-grants", (), data),
                    (action, "post", "api:guest-transfer", (), {"new_owner": "owner"}),
                    (action, "delete", "api:guest-revoke", ("GRANT",), None),
                ]
            elif name == "guests:delete" and method == "post":
                rows.append((action, "delete", "api:guest-detail", (), None))
            elif name == "guests:migrate" and method == "post":
                rows.append((action, "post", "api:guest-change-migrate", (), data))
            elif name == "guests:migration-cancel":
                rows.append((action, "post", "api:guest-cancel-migration", (), None))
            elif name == "guests:xml":
                rows.append((action, "put" if method == "post" else "get", "api:guest-xml", (), data))
            elif name == "lifecycle:renew":
                rows += [
                    (action, "post", "api:guest-lease", (), {"days": 3}),
                    ("view", "get", "api:guest-lease", (), None),
                ]
            elif name == "lifecycle:guest-schedule":
                rows += [
                    (
                        action,
                        "put",
                        "api:guest-power-schedule",
                        (),
                        {"days": [1], "start_at": "08:00", "time_zone": "UTC"},
                    ),
                    ("view", "get", "api:guest-power-schedule", (), None),
                ]
            elif name == "lifecycle:guest-exemption" and "reason" in data:
                rows += [
                    (action, "post", "api:guest-schedule-exemptions", (), {"team": "TEAM", "reason": "a long job"}),
                    (action, "delete", "api:guest-schedule-exemption", ("TEAM",), None),
                ]
    return rows


API_QUEUES_AN_OPERATION = {"api:guest-power", "api:guest-detail", "api:guest-xml"} | {
    name for _, _, name, _, _ in api_requests() if name.startswith("api:guest-change-")
}


def test_the_api_matrix_covers_every_guest_endpoint():
    """A new endpoint on a guest must get a row here, or this fails."""
    from webvirt.api_urls import router, urlpatterns

    covered = {name.removeprefix("api:") for _, _, name, _, _ in api_requests()}
    routes = {url.name for url in [*router.urls, *urlpatterns] if "guests/<id:pk>/" in str(url.pattern)}
    assert len(routes) >= 20 and routes <= covered, sorted(routes - covered)


@pytest.mark.parametrize("persona", PERSONAS)
def test_api_permission_matrix(api, make_token, people, persona):
    """The same answers through the API, with the persona's token: 404 unseen, 403 not allowed."""
    guest, users = people
    _, key = make_token(users[persona])
    client = api(key)
    answers = {}
    for action, method, name, args, data in api_requests():
        grant = Grant.objects.filter(guest=guest, user=users["viewer"]).first()
        ids = {"POOL": guest.host.pools.get().pk, "GRANT": grant.pk if grant else 0}
        ids["TEAM"] = Team.objects.get(name="ops").pk
        ids["DESTINATION"] = Host.objects.get(name="elsewhere").pk
        ids["VOLUME"] = Volume.objects.get(name="spare.qcow2").pk
        ids |= {"XML": edited(guest), "PREVIEWED": digest(edited(guest))}
        data = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in (data or {}).items()}
        args = tuple(ids.get(arg, arg) for arg in args)
        running = action == "console" or name in ("api:guest-change-fs_freeze", "api:guest-change-fs_thaw")
        Guest.objects.filter(pk=guest.pk).update(state="running" if running else "shutoff", gone_at=None)
        guest.refresh_from_db()
        before = Operation.objects.count()
        response = getattr(client, method)(reverse(name, args=(guest.pk, *args)), data, format="json")
        queued = Operation.objects.count() - before
        got = response.status_code if response.status_code in (403, 404) else "allowed"
        if got == "allowed" and response.status_code >= 400:
            got = f"{response.status_code}: {response.json()}"
        elif got == "allowed" and name in API_QUEUES_AN_OPERATION and method != "get" and queued != 1:
            got = f"accepted, but {queued} operations queued"
        answers[(action, method, name, *args)] = (got, expected(persona, action))
        Guest.objects.filter(pk=guest.pk).update(owner=users["owner"])  # a transfer gives it back
        if not Grant.objects.filter(guest=guest, user=users["viewer"]).exists():  # a revoke is undone
            Grant.objects.create(guest=guest, user=users["viewer"], role="viewer")
    wrong = {request: pair for request, pair in answers.items() if pair[0] != pair[1]}
    assert not wrong, f"{persona}: (got, expected) {wrong}"


# Account actions on people and teams (accounts/actions.py): admins only, whatever one's roles on guests.
# (policy action, method, URL name, URL args, data); "LEAVER", "TEAM", "HOST" and "OWNER" are ids.
ACCOUNT_REQUESTS = [
    ("user.delete", "get", "accounts:user-delete", ("LEAVER",), None),
    ("user.delete", "post", "accounts:user-delete", ("LEAVER",), {}),
    ("user.disable", "post", "accounts:user-action", ("LEAVER", "disable"), {}),
    ("team.delete", "get", "accounts:team-delete", ("TEAM",), None),
    ("team.delete", "post", "accounts:team-delete", ("TEAM",), {}),
    ("host.publish", "post", "accounts:publish", ("host", "HOST"), {"users": "OWNER"}),
    ("user.delete", "get", "api:user-deletion", ("LEAVER",), None),
    ("user.delete", "delete", "api:user-detail", ("LEAVER",), {}),
    ("team.delete", "get", "api:team-deletion", ("TEAM",), None),
    ("team.delete", "delete", "api:team-detail", ("TEAM",), {}),
    ("host.publish", "post", "api:host-publish", ("HOST",), {"users": ["OWNER"]}),
]


@pytest.mark.parametrize("persona", PERSONAS)
def test_account_actions_are_for_admins_only(client, api, make_token, people, persona):
    guest, users = people
    client.force_login(users[persona])
    _, key = make_token(users[persona])
    answers = {}
    for action, method, name, args, data in ACCOUNT_REQUESTS:
        get_user_model().objects.filter(username="leaver").delete()  # a fresh account and team each time
        Team.objects.filter(name="temp").delete()
        ids = {"LEAVER": UserFactory(username="leaver").pk, "TEAM": Team.objects.create(name="temp").pk}
        ids |= {"HOST": guest.host.pk, "OWNER": users["owner"].pk}
        url = reverse(name, args=[ids.get(arg, arg) for arg in args])
        data = {
            k: [ids[v] for v in value] if isinstance(value, list) else ids[value] for k, value in (data or {}).items()
        }
        sender = api(key) if name.startswith("api:") else client
        response = getattr(sender, method)(url, data, **({"format": "json"} if name.startswith("api:") else {}))
        got = "allowed" if response.status_code in (200, 204, 302) else response.status_code
        answers[(action, method, name)] = (got, "allowed" if persona == "admin" else 403)
    wrong = {request: pair for request, pair in answers.items() if pair[0] != pair[1]}
    assert not wrong, f"{persona}: (got, expected) {wrong}"
    assert {action for action, *_ in ACCOUNT_REQUESTS} <= set(catalogue())
