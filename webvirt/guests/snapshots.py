"""What reverting to a snapshot will change, read from the inventory and shown before it is queued:
libvirt drops a disk added after the snapshot without a word, so the user is told first."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

STATE_AFTER = {
    "running": gettext_lazy("running, resumed where it was when the snapshot was taken"),
    "paused": gettext_lazy("paused, where it was when the snapshot was taken"),
    "shut off": gettext_lazy("shut off"),
}


@dataclass
class RevertPreview:
    known: bool  # False when the snapshot does not record the guest's definition
    state_after: str
    detached: list[tuple[str, str]] = field(default_factory=list)  # (target, source) attached now, not then
    restored: list[tuple[str, str]] = field(default_factory=list)  # (target, source) then, not now
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (target, source now, source then)
    sizes: list[str] = field(default_factory=list)  # e.g. "vCPUs: 2 → 1"

    @property
    def devices_or_sizes_change(self):
        return bool(self.detached or self.restored or self.changed or self.sizes)


def revert_preview(guest, snapshot):
    preview = RevertPreview(
        known=snapshot.vcpus is not None,
        state_after=STATE_AFTER.get(snapshot.state)
        or (
            _("%(state)s when the snapshot was taken") % {"state": snapshot.state}
            if snapshot.state
            else _("as it was when the snapshot was taken")
        ),
    )
    if not preview.known:
        return preview
    now = {disk.target: disk.source for disk in guest.disks.all()}
    then = {disk["target"]: disk["source"] for disk in snapshot.disks}
    preview.detached = [(target, now[target]) for target in sorted(now.keys() - then.keys())]
    preview.restored = [(target, then[target]) for target in sorted(then.keys() - now.keys())]
    preview.changed = [
        (target, now[target], then[target])
        for target in sorted(now.keys() & then.keys())
        if now[target] != then[target]
    ]
    if snapshot.vcpus != guest.vcpus:
        preview.sizes.append(_("vCPUs: %(now)s → %(then)s") % {"now": guest.vcpus, "then": snapshot.vcpus})
    if snapshot.memory_mib != guest.memory_mib:
        preview.sizes.append(
            _("Memory: %(now)s MiB → %(then)s MiB") % {"now": guest.memory_mib, "then": snapshot.memory_mib}
        )
    return preview
