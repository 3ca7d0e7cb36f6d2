"""Emptying a host in maintenance: each guest moves to the host the scheduler picks, one after another.

The evacuation is an Operation; each guest's move is a step of it (an Operation of its own with
the evacuation as its parent), run in turn by the evacuation's worker. A guest no host can take,
or whose move fails, stays where it was, running as before; the evacuation then ends failed,
naming each such guest and why.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

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
            _("Put %(host)s in maintenance first, so that nothing new lands on it while it empties.")
            % {"host": host.name}
        )
    if not guests_to_move(host, params.include_stopped):
        if params.include_stopped:
            raise ValidationError(_("%(host)s has no guests to move.") % {"host": host.name})
        raise ValidationError(_("%(host)s has no running guests to move.") % {"host": host.name})


def destination_for(guest, hosts):
    """The scheduler's best host among `hosts` that can take `guest` now, or (None, why not)."""
    chosen = placement.place(migration.demand_of(guest), hosts)
    why = {host: [text.removeprefix(f"{host.name}: ") for text in texts] for host, texts in chosen.refusals.items()}
    for host, _score in chosen.ranked:
        problems = migration.refusals(guest, host)
        if not problems:
            return host, ""
        why[host] = problems
    if not why:
        return None, chosen.why_none
    reasons = "; ".join(f"{host.name}: {', '.join(texts)}" for host, texts in why.items())
    return None, _("no host can take it (%(reasons)s)") % {"reasons": reasons}


def run(operation, params):
    source = operation.host
    if source is None:
        raise HypervisorError(_("The host was removed from webvirt."))
    guests = guests_to_move(source, params.include_stopped)
    others = list(Host.objects.exclude(pk=source.pk))
    moved, stayed = [], []
    for index, guest in enumerate(guests):
        progress = {"name": guest.name, "number": index + 1, "count": len(guests)}
        operations.note(operation, _("Moving %(name)s (%(number)s of %(count)s).") % progress)
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
                    moved.append(_("%(name)s to %(host)s") % {"name": guest.name, "host": destination.name})
                else:
                    stayed.append((guest.name, step.message))
        operations.report_progress(operation, (index + 1) / len(guests))
    counts = {"moved": len(moved), "count": len(guests), "guests": "; ".join(moved)}
    summary = (_("Moved %(moved)s of %(count)s: %(guests)s.") if moved else _("Moved %(moved)s of %(count)s.")) % counts
    if stayed:
        said = " ".join(
            _("%(name)s stays: %(reason)s.") % {"name": name, "reason": reason.rstrip(".。")} for name, reason in stayed
        )
        raise HypervisorError(f"{summary} {said}")
    return summary
