"""What a user owns that must outlive their account. Apps register their kind here (guests do),
so deleting a user hands everything to a chosen new owner first, and accounts imports no app."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Owned:
    name: str  # a stable key for the API, e.g. "guests"
    noun: str  # what the confirm page counts, in the reader's language
    count: Callable  # count(user) -> how many they own
    busy: Callable  # busy(user) -> sentences naming what cannot change hands now
    transfer: Callable  # transfer(actor, user, new_owner): hand them all over (in the caller's transaction)


_KINDS = []


def register(kind):
    _KINDS.append(kind)


def counts(user):
    """(kind, how many) of each kind the user owns, leaving out the kinds they own none of."""
    return [(kind, number) for kind in _KINDS if (number := kind.count(user))]


def busy(user):
    return [sentence for kind in _KINDS for sentence in kind.busy(user)]


def transfer(actor, user, new_owner):
    for kind in _KINDS:
        kind.transfer(actor, user, new_owner)
