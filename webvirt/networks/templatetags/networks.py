from django import template

from webvirt.hypervisor.networks import FORWARD_MODES, VIRTUALPORTS

register = template.Library()


@register.filter
def mode_label(mode):
    """How a network's forward mode reads on a page."""
    return FORWARD_MODES.get(mode, mode)


@register.filter
def switch_label(virtualport):
    """What kind of host bridge a bridge-mode network plugs guests into."""
    return VIRTUALPORTS.get(virtualport, virtualport)
