from django import template

from ..connections import display_uri

register = template.Library()


@register.filter
def uri(host):
    """The host's libvirt URI, without parameters (no secrets)."""
    return display_uri(host)
