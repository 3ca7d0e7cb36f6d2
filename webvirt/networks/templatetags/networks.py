from django import template

from webvirt.hypervisor.networks import FORWARD_MODES

register = template.Library()


@register.filter
def mode_label(mode):
    """How a network's forward mode reads on a page."""
    return FORWARD_MODES.get(mode, mode)
