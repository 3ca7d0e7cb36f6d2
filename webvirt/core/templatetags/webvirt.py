from django import template

from webvirt.core import policy

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
