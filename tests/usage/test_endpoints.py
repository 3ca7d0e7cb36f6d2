"""The page, its CSV and the API show the same rows and numbers; whose usage one may see; bad input is a 400."""

import csv
import io

import pytest
from django.urls import reverse

from tests.conftest import UserFactory
from webvirt.accounts.models import Team

MONTHS = {"start": "2026-03", "end": "2026-04", "by": "month"}


def _api_rows(response):
    assert response.status_code == 200, response.content
    return [
        [row["period"], row["kind"], row["id"] or "", row["name"]]
        + [row[m] for m in ("vcpu_hours", "memory_gib_hours", "disk_gib_days", "guests")]
        for row in response.json()["rows"]
    ]


def _csv_rows(response):
    assert response.status_code == 200, response.content
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0] == ["period", "kind", "id", "name", "vcpu_hours", "memory_gib_hours", "disk_gib_days", "guests"]
    return [
        [period, kind, int(pk) if pk else "", name, float(vcpu), float(memory), float(disk), int(guests)]
        for period, kind, pk, name, vcpu, memory, disk, guests in lines[1:]
    ]


def test_page_csv_and_api_agree(client, api, make_token, history):
    alice = history["alice"]
    client.force_login(alice)
    _, key = make_token(alice, scope="read")
    from_api = _api_rows(api(key).get(reverse("api:usage"), MONTHS))
    response = client.get(reverse("usage:export"), MONTHS)
    assert response["Content-Disposition"] == 'attachment; filename="usage-2026-03-2026-04-by-month.csv"'
    assert _csv_rows(response) == from_api
    ops = history["ops"].pk
    # alice and her team ops (alice's and bob's guests), by month; April counts A's disk all 30 days.
    assert from_api == [
        ["2026-03-01", "user", alice.pk, "alice", 40.0, 80.0, 25.0, 2],
        ["2026-04-01", "user", alice.pk, "alice", 4.0, 8.0, 600.0, 1],
        ["2026-03-01", "team", ops, "ops", 46.0, 92.0, 27.5, 2],
        ["2026-04-01", "team", ops, "ops", 4.0, 8.0, 600.0, 1],
    ]
    page = client.get(reverse("usage:usage"), MONTHS)
    assert page.status_code == 200
    table = page.content.decode().split("data-usage-table", 1)[1]
    for period, kind, _, name, vcpu, memory, disk, guests in from_api:
        label = name if kind == "user" else f"team {name}"
        cells = f"<td>{period[:7]}</td>\n  <td>{label}</td>\n  <td>{vcpu:.3f}</td><td>{memory:.3f}</td>"
        assert f"{cells}<td>{disk:.3f}</td><td>{guests}</td>" in table
    assert page.context["chart"]["time"] == [1772323200, 1775001600]  # 2026-03-01, 2026-04-01 UTC
    assert [s["label"] for s in page.context["chart"]["subjects"]] == ["alice", "team ops"]
    assert page.context["chart"]["subjects"][1]["disk_gib_days"] == [27.5, 600.0]


def test_admins_see_everyone_and_filter_by_team(api, make_token, admin, history):
    _, key = make_token(admin, scope="read")
    rows = _api_rows(api(key).get(reverse("api:usage"), MONTHS))
    assert {(row[1], row[3]) for row in rows} == {
        ("user", "alice"),
        ("user", "bob"),
        ("user", "carol"),
        ("team", "ops"),
        ("team", "lab"),
    }
    lab = _api_rows(api(key).get(reverse("api:usage"), {**MONTHS, "team": history["lab"].pk}))
    assert lab == [
        ["2026-03-01", "team", history["lab"].pk, "lab", 0.0, 0.0, 0.0, 0],
        ["2026-04-01", "team", history["lab"].pk, "lab", 6.0, 6.0, 0.0, 1],
    ]


@pytest.mark.parametrize("whose", ["bob", "lab", "no-such-user"])
def test_someone_elses_usage_is_refused(client, api, make_token, history, whose):
    """bob shares alice's team, not her account; lab is not hers; an unknown id is refused the same way."""
    alice = history["alice"]
    filters = {"user": history["bob"].pk} if whose == "bob" else {"team": history["lab"].pk}
    if whose == "no-such-user":
        filters = {"user": 987654}
    client.force_login(alice)
    _, key = make_token(alice, scope="read")
    for response in (
        client.get(reverse("usage:usage"), filters),
        client.get(reverse("usage:export"), filters),
        api(key).get(reverse("api:usage"), filters),
    ):
        assert response.status_code == 403
        assert b"only your own usage" in response.content
    assert client.get(reverse("usage:usage"), {"team": history["ops"].pk}).status_code == 200


BAD = [
    {"start": "2026-13"},
    {"start": "March"},
    {"start": "2026-03-01"},
    {"end": "2026-0" + "1" * 50},
    {"start": "0000-01"},
    {"end": "9999-12"},
    {"start": "2026-04", "end": "2026-03"},
    {"start": "2025-01", "end": "2026-01"},
    {"by": "week"},
    {"user": "x"},
    {"user": str(2**64)},
    {"team": "-1"},
]


@pytest.mark.parametrize("query", BAD)
def test_bad_filters_are_a_400_that_says_why(client, api, make_token, history, query):
    alice = history["alice"]
    client.force_login(alice)
    _, key = make_token(alice, scope="read")
    page = client.get(reverse("usage:usage"), query)
    assert page.status_code == 400 and b'class="flash error"' in page.content
    assert client.get(reverse("usage:export"), query).status_code == 400
    body = api(key).get(reverse("api:usage"), query).json()
    assert body["code"] == "invalid" and set(body["fields"]) <= {"start", "end", "by", "user", "team"}


def test_admins_asking_for_nobody_or_both_get_a_400(admin_client, history):
    assert admin_client.get(reverse("usage:usage"), {"user": 987654}).status_code == 400
    both = {"user": history["alice"].pk, "team": history["ops"].pk}
    assert b"not both" in admin_client.get(reverse("usage:export"), both).content


def test_a_new_user_sees_an_empty_month_and_the_link_in_the_top_bar(client, db):
    newcomer = UserFactory()
    Team.objects.create(name="empty")
    client.force_login(newcomer)
    page = client.get(reverse("usage:usage"))
    assert page.status_code == 200
    assert f'href="{reverse("usage:usage")}"' in page.content.decode()
    assert {row["subject"].name for row in page.context["rows"]} == {newcomer.username}
    assert all(row["vcpu_hours"] == 0 for row in page.context["rows"])
