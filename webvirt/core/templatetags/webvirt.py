from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webvirt.core import audit, policy

register = template.Library()


@register.filter
def mib(value):
    """Memory in MiB, shown as GiB from 1 GiB up."""
    if value in (None, ""):
        return "—"
    value = int(value)
    return f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value} MiB"


@register.filter(name="bytes")
def human_bytes(value):
    """Sizes in bytes, shown in the largest binary unit that keeps a number of at least 1."""
    if value in (None, ""):
        return "—"
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.2f} TiB"


@register.simple_tag
def can(user, action, obj=None):
    return policy.can(user, action, obj)


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (for sort and page links)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


@register.simple_tag(takes_context=True)
def sort_query(context, column):
    """Query string that sorts by `column`, reversing it when it is already the sort."""
    query = context["request"].GET.copy()
    query["sort"] = f"-{column}" if query.get("sort", "name") == column else column
    query.pop("page", None)
    return query.urlencode()


_AGO = {
    "second": lambda n: ngettext("%(n)s second ago", "%(n)s seconds ago", n),
    "minute": lambda n: ngettext("%(n)s minute ago", "%(n)s minutes ago", n),
    "hour": lambda n: ngettext("%(n)s hour ago", "%(n)s hours ago", n),
    "day": lambda n: ngettext("%(n)s day ago", "%(n)s days ago", n),
}
_SPAN = {
    "second": lambda n: ngettext("%(n)s second", "%(n)s seconds", n),
    "minute": lambda n: ngettext("%(n)s minute", "%(n)s minutes", n),
    "hour": lambda n: ngettext("%(n)s hour", "%(n)s hours", n),
    "day": lambda n: ngettext("%(n)s day", "%(n)s days", n),
}


def _plural(count, unit):
    return _AGO[unit](count) % {"n": count}


@register.filter
def ago(moment):
    """How long ago, to the second while it is recent, with the exact time on hover."""
    if not moment:
        return _("never")
    exact = date_format(localtime(moment), "DATETIME_FORMAT")
    seconds = int((timezone.now() - moment).total_seconds())
    if seconds < 0:  # a clock ahead of ours: say the time itself
        text = exact
    elif seconds < 120:
        text = _plural(seconds, "second")
    elif seconds < 7200:
        text = _plural(seconds // 60, "minute")
    elif seconds < 172800:
        text = _plural(seconds // 3600, "hour")
    else:
        text = _plural(seconds // 86400, "day")
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(), exact, text)


@register.filter
def when(moment):
    """An exact time in the site's one format (seconds since the epoch too)."""
    if not moment:
        return "—"
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment, UTC)
    return date_format(localtime(moment), "DATETIME_FORMAT")


@register.filter
def duration(span):
    """A timedelta in words: "15 minutes", "2 hours"."""
    seconds = int(span.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return _SPAN[unit](count) % {"n": count}
    return _SPAN["second"](seconds) % {"n": seconds}


@register.filter
def took(start, end):
    """How long between two times: "0.4 s", "12 s", "3 min 5 s", "2 h 10 min"."""
    seconds = (end - start).total_seconds()
    if seconds < 10:
        return _("%(s)s s") % {"s": number_format(seconds, 1)}
    seconds = int(seconds)
    if seconds < 60:
        return _("%(s)s s") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)s min %(s)s s") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)s h %(m)s min") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


@register.filter
def outcome(value):
    return audit.OUTCOMES.get(value, value)
