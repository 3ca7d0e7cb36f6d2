"""The catalogue of actions, and the one service that performs them.

Each action is declared once, in its app's `actions.py`: its name (also the Operation kind, the
audit action and the event), its label, the policy action it needs on its target, its typed
parameters (a frozen dataclass that forms and API serializers fill in), its refusals, its quota
effect, and either `run` (slow: a worker runs it as an Operation) or `apply` (quick: done in the
request). Pages, the API and tests all call `perform()`; nothing else writes.
"""

import dataclasses
import datetime
import types
import typing
from collections.abc import Callable

from django.db import transaction

from . import audit, events, operations, policy


@dataclasses.dataclass(frozen=True)
class NoParams:
    pass


@dataclasses.dataclass(frozen=True)
class Action:
    name: str
    label: str
    permission: str  # a policy action, checked on the target (or on nothing, for admin-only actions)
    params: type = NoParams
    run: Callable | None = None  # run(operation, params) -> message, in a worker
    apply: Callable | None = None  # apply(actor, target, params) -> result, in the request's transaction
    check: Callable | None = None  # check(actor, target, params): raise ValidationError to refuse
    reserve: Callable | None = None  # reserve(actor, target, params) -> {"owner_id", "reservation"} (quotas)
    cleanup: Callable | None = None  # cleanup(operation), once an Operation is finished, whatever its outcome
    describe: Callable | None = None  # describe(target, params) -> text, when the target alone does not say
    timeout: int = 3600  # seconds a worker may spend on it
    beside: bool = False  # long work on one guest: runs beside its host's other Operations (core/lanes.py)

    def __post_init__(self):
        if (self.run is None) == (self.apply is None):
            raise ValueError(f"{self.name}: declare exactly one of run (slow) or apply (quick).")

    @property
    def is_slow(self):
        return self.run is not None


_CATALOGUE = {}


def declare(action):
    if action.name in _CATALOGUE:
        raise ValueError(f"Action {action.name} is declared twice.")
    _CATALOGUE[action.name] = action
    if action.is_slow:
        operations.register(
            action.name,
            action.label,
            _runner(action),
            cleanup=action.cleanup,
            timeout=action.timeout,
            beside=action.beside,
        )
    return action


def get(name):
    return _CATALOGUE[name]


def catalogue():
    return dict(_CATALOGUE)


def _runner(action):
    def run(operation):
        return action.run(operation, load_params(action.params, operation.params))

    return run


def describe(target):
    """How a target is named in the audit log and on its Operations."""
    if target is None:
        return ""
    return target.audit_name() if hasattr(target, "audit_name") else str(target)


def links(target):
    """The host and guest an action on `target` concerns, for its Operation and its events.

    Targets say so themselves: `operation_links()` -> {"host": ..., "guest": ...}, and, for slow
    actions on things an Operation has no column for, `operation_ref()` -> what the worker needs to
    find it again (stored as the Operation's `params["target"]`)."""
    return target.operation_links() if hasattr(target, "operation_links") else {}


@transaction.atomic
def perform(name, *, actor, target=None, params=None, parent=None, system=False):
    """Check, write, audit and publish one action; returns its Operation (slow) or its result (quick).

    A slow action performed as a step of `parent` (an Operation) is run by the parent's worker
    (operations.run_step), not queued for one of its own. `system=True` (with no actor) is webvirt
    itself acting on a rule admins set (a lease that ended): no person's permission applies, the
    refusals still do, and the audit log says "system"."""
    action = _CATALOGUE[name]
    params = params if params is not None else action.params()
    if not isinstance(params, action.params):
        raise TypeError(f"{name} takes {action.params.__name__}, not {type(params).__name__}.")
    if system != (actor is None):
        raise TypeError("Give an actor, or system=True without one.")
    if not system:
        policy.require(actor, action.permission, target)
    if action.check:
        action.check(actor, target, params)
    related = links(target)
    groups = [events.user_group(actor.pk) if actor else None, *_groups(related)]
    ids = _event_ids(related)  # now: a removed target has no primary key afterwards
    text = action.describe(target, params) if action.describe else describe(target)
    if action.is_slow:
        stored = dump_params(params)
        if hasattr(target, "operation_ref"):
            stored["target"] = target.operation_ref()
        if action.reserve:
            stored |= action.reserve(actor, target, params)
        return operations.enqueue(kind=name, actor=actor, target=text, params=stored, parent=parent, **related)
    result = action.apply(actor, target, params)
    audit.record(actor, name, text, **audit_details(params))
    events.publish(name, groups=groups, **ids)
    return result


def _groups(related):
    groups = []
    if related.get("host") is not None:
        groups.append(events.host_group(related["host"].pk))
    if related.get("guest") is not None:
        groups += [events.guest_group(related["guest"].pk), events.GUEST_LISTS]
    return groups


def _event_ids(related):
    return {f"{key}_id": value.pk for key, value in related.items() if value is not None}


SECRET_WORDS = ("password", "secret", "private_key")


def audit_details(params):
    """Parameters as recorded in the audit log, without secrets (fields named after one)."""
    return {key: value for key, value in dump_params(params).items() if not any(word in key for word in SECRET_WORDS)}


def dump_params(params):
    """Typed parameters as JSON-able values. Quick actions may take model instances (recorded by
    primary key); a slow action's parameters are plain values, since its worker rebuilds them."""
    return {field.name: _dump(getattr(params, field.name)) for field in dataclasses.fields(params)}


def _dump(value):
    if dataclasses.is_dataclass(value):
        return dump_params(value)
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    if hasattr(value, "_meta") and hasattr(value, "pk"):  # a model instance
        return value.pk
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def load_params(cls, stored):
    """Rebuild typed parameters from what an Operation stored (extra keys, like quotas', are left)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in stored:
            values[field.name] = _load(hints[field.name], stored[field.name])
    return cls(**values)


def _load(hint, value):
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return _load(options[0], value) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint):
        return load_params(hint, value)
    if hint is datetime.datetime:
        return datetime.datetime.fromisoformat(value)
    if typing.get_origin(hint) in (list, tuple):
        (item,) = typing.get_args(hint)[:1] or (typing.Any,)
        loaded = [_load(item, entry) for entry in value]
        return tuple(loaded) if typing.get_origin(hint) is tuple else loaded
    return value
