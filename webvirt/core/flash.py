"""The one line a page shows after queueing an Operation.

It is tagged with the Operation's id, so that static/webvirt/tasks.js can turn it into the
outcome when the Operation ends: a failure never stays under a "queued" line."""

from django.contrib import messages
from django.utils.translation import gettext as _
from django.utils.translation import pgettext


def queued(request, operation, name=None):
    # The state ends the line, said as tasks.js says the states it puts in its place.
    text = _("%(action)s %(target)s: %(state)s") % {
        "action": operation.label,
        "target": name or operation.target,
        "state": pgettext("operation state", "queued."),
    }
    messages.info(request, text, extra_tags=f"operation-{operation.pk}")
