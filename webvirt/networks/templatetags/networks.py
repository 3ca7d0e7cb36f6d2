from django import template
from django.utils.translation import gettext as _

from webvirt.hypervisor.networks import FORWARD_MODES, VIRTUALPORTS

register = template.Library()


@register.filter
def mode_label(mode):
    """How a network's forward mode reads on a page."""
    return _(FORWARD_MODES[mode]) if mode in FORWARD_MODES else mode


@register.filter
def switch_label(virtualport):
    """What kind of host bridge a bridge-mode network plugs guests into."""
    return _(VIRTUALPORTS[virtualport]) if virtualport in VIRTUALPORTS else virtualport
