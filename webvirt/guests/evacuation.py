"""Emptying a host in maintenance: each guest moves to the host the scheduler picks, one after another.

The evacuation is an Operation; each guest's move is a step of it (an Operation of its own with
the evacuation as its parent), run in turn by the evacuation's worker. A guest no host can take,
or whose move fails, stays where it was, running as before; the evacuation then ends failed,
naming each such guest and why.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from webvirt.core import actions, operations
from webvirt.hosts.models import Host
from webvirt.hypervisor import HypervisorError

from . import migration, placement


@dataclass(frozen=True)
class Evacuation:
    include_stopped: bool = False  # also move the guests that are shut off (offline)


def guests_to_move(host, include_stopped):
    """Running guests first, then (if asked) the stopped ones; never one already moving."""
    guests = host.guests.present().filter(migrating_to__isnull=True).select_related("host")
    running = [guest for guest in guests if guest.is_active]
    stopped = [guest for guest in guests if not guest.is_active] if include_stopped else []
    return running + stopped


def check(actor, host, params):
    if not host.in_maintenance:
        raise ValidationError(
            f"Put {host.name} in maintenance first, so that nothing new lands on it while it empties."
        )
    if not guests_to_move(host, params.include_stopped):
        kind = "guests" if params.include_stopped else "running guests"
        raise ValidationError(f"{host.name} has no {kind} to move.")


def destination_for(guest, hosts):
    """The scheduler's best host among `hosts` that can take `guest` now, or (None, why not)."""
    chosen = placement.place(migration.demand_of(guest), hosts)
    why = {host: [text.removeprefix(f"{host.name}: ") for text in texts] for host, texts in chosen.refusals.items()}
    for host, _ in chosen.ranked:
        problems = migration.refusals(guest, host)
        if not problems:
            return host, ""
        why[host] = problems
    if not why:
        return None, chosen.why_none
    return None, "no host can take it (" + "; ".join(
        f"{host.name}: {', '.join(texts)}" for host, texts in why.items()
    ) + ")"


def run(operation, params):
    source = operation.host
    if source is None:
        raise HypervisorError("The host was removed from webvirt.")
    guests = guests_to_move(source, params.include_stopped)
    others = list(Host.objects.exclude(pk=source.pk))
    moved, stayed = [], []
    for index, guest in enumerate(guests):
        operations.note(operation, f"Moving {guest.name} ({index + 1} of {len(guests)}).")
        destination, why = destination_for(guest, others)
        if destination is None:
            stayed.append((guest.name, why))
        else:
            try:
                step = actions.perform(
                    "guest.migrate",
                    actor=operation.actor,
                    target=guest,
                    params=actions.get("guest.migrate").params(destination=destination.pk),
                    parent=operation,
                )
            except ValidationError as exc:  # something changed since the scheduler looked
                stayed.append((guest.name, " ".join(exc.messages)))
            else:
                step = operations.run_step(step)
                if step.status == step.Status.SUCCEEDED:
                    moved.append(f"{guest.name} to {destination.name}")
                else:
                    stayed.append((guest.name, step.message))
        operations.report_progress(operation, (index + 1) / len(guests))
    summary = f"Moved {len(moved)} of {len(guests)}" + (f": {'; '.join(moved)}." if moved else ".")
    if stayed:
        said = " ".join(f"{name} stays: {reason.rstrip('.')}." for name, reason in stayed)
        raise HypervisorError(f"{summary} {said}")
    return summary
