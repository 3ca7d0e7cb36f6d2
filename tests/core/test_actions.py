"""The catalogue: every action declared once, with a policy action that exists, performed by one
service that checks, writes, audits and publishes after commit."""

import asyncio
import dataclasses
import datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import UserFactory
from webvirt.accounts.actions import NewToken, QuotaLimits, TeamParams
from webvirt.accounts.models import Team
from webvirt.core import actions, events, policy
from webvirt.core.models import AuditEvent


def test_every_action_names_a_policy_action_and_one_way_to_run():
    catalogue = actions.catalogue()
    assert {"user.create", "team.save", "token.create", "host.publish", "flavor.publish"} <= set(catalogue)
    for name, action in catalogue.items():
        assert action.permission in policy.actions(), name
        assert dataclasses.is_dataclass(action.params) and action.params.__dataclass_params__.frozen, name
        assert (action.run is None) != (action.apply is None), name


def test_an_action_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        actions.declare(actions.get("team.save"))


def test_perform_checks_the_policy_and_the_parameter_type(db, admin):
    user = UserFactory(username="nobody-special")
    with pytest.raises(PermissionDenied):
        actions.perform("team.save", actor=user, params=TeamParams(name="x"))
    with pytest.raises(TypeError, match="takes TeamParams"):
        actions.perform("team.save", actor=admin, params=QuotaLimits(1, 1, 1, 1))
    assert not Team.objects.exists() and not AuditEvent.objects.filter(action="team.save").exists()


def test_a_refusal_leaves_nothing_written(db, admin):
    Team.objects.create(name="ops")
    with pytest.raises(ValidationError, match="already a team named ops"):
        actions.perform("team.save", actor=admin, params=TeamParams(name="ops"))
    assert Team.objects.count() == 1 and not AuditEvent.objects.filter(action="team.save").exists()


def test_an_event_is_published_only_after_commit(db, admin, django_capture_on_commit_callbacks):
    """Through the real channel layer (Redis): a subscriber of the actor's group hears nothing until
    the transaction commits, then the action's event."""
    layer = get_channel_layer()
    group = events.user_group(admin.pk)

    def perform_without_committing():
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            actions.perform("team.save", actor=admin, params=TeamParams(name="qa"))
        return callbacks

    async def next_message(channel):
        try:
            async with asyncio.timeout(2):
                return await layer.receive(channel)
        except TimeoutError:
            return None

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        try:
            callbacks = await sync_to_async(perform_without_committing)()
            before = await next_message(channel)
            for callback in callbacks:
                await sync_to_async(callback)()
            return before, await next_message(channel)
        finally:
            await layer.group_discard(group, channel)

    before, after = async_to_sync(scenario)()
    assert before is None  # nothing before the commit
    assert after == {"type": "webvirt.event", "event": "team.save", "topic": group}
    details = AuditEvent.objects.get(action="team.save").details
    assert (details["name"], details["members"], details["lease_max_days"]) == ("qa", [], None)


def test_stored_parameters_come_back_typed():
    @dataclasses.dataclass(frozen=True)
    class Inner:
        size: int

    @dataclasses.dataclass(frozen=True)
    class Outer:
        name: str
        when: datetime.datetime | None = None
        parts: list[Inner] = dataclasses.field(default_factory=list)

    value = Outer("a", datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC), [Inner(1), Inner(2)])
    stored = actions.dump_params(value) | {"reservation": {"vcpus": 2}}  # extra keys are ignored
    assert actions.load_params(Outer, stored) == value


def test_secrets_stay_out_of_the_audit_log():
    @dataclasses.dataclass(frozen=True)
    class Creds:
        username: str
        password: str
        ssh_private_key: str

    assert actions.audit_details(Creds("u", "p", "k")) == {"username": "u"}
    assert actions.audit_details(NewToken("ci")) == {"name": "ci", "scope": "read", "expires_at": None}
