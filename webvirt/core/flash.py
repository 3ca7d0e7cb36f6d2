"""The one line a page shows after queueing an Operation.

It is tagged with the Operation's id, so that static/webvirt/tasks.js can turn it into the
outcome when the Operation ends: a failure never stays under a "queued" line."""

from django.contrib import messages
from django.utils.translation import gettext as _


def queued(request, operation, name=None):
    text = _("%(action)s %(target)s: queued.") % {"action": operation.label, "target": name or operation.target}
    messages.info(request, text, extra_tags=f"operation-{operation.pk}")
