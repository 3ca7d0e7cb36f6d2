"""Who may back up, see, restore and delete backups (registered with core/policy.py).

Taking backups and setting a schedule need the operator role on the guest (`backup`); seeing
them too (`backup.view`); restoring, downloading and deleting them need the editor role
(`backup.manage`), since they replace or hand out the guest's data. A backup whose guest was
deleted belongs to the guest's owner at the time of the backup."""

from django.db.models import Q
from django.utils.translation import gettext as _

from webvirt.core import policy
from webvirt.guests.models import Guest
from webvirt.guests.roles import RANK, ROLE_LABELS, guest_role, role_rule

BACKUP_ROLE = "operator"
MANAGE_ROLE = "editor"


def _backup_rule(least):
    guests = role_rule(least)

    def allows(user, backup):
        if backup is None:
            return False
        if backup.guest_id is None:
            return backup.owner_id == user.pk
        role = guest_role(user, backup.guest)
        return role is not None and RANK[role] >= RANK[least]

    def restrict(queryset, user):
        return queryset.filter(
            Q(guest__in=guests.restrict(Guest.objects.all(), user)) | Q(guest__isnull=True, owner=user)
        )

    def refusal(backup):
        return _("This needs the %(role)s role on the guest.") % {"role": ROLE_LABELS[least]}

    return policy.Rule(allows=allows, restrict=restrict, refusal=refusal)


def register():
    policy.register("backup", role_rule(BACKUP_ROLE))
    policy.register("backup.view", _backup_rule(BACKUP_ROLE))
    policy.register("backup.manage", _backup_rule(MANAGE_ROLE))
