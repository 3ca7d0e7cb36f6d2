"""Words users read, in their language.

The hypervisor package imports no Django, so the application hands it Django's translators when it
starts (core's AppConfig.ready); until then messages stay English. `_` and `ngettext` translate now,
in the caller's active language (the worker's is the asker's); `gettext_noop` only marks a string
for the catalogues, for tables translated when they are read.
"""

_gettext = None
_ngettext = None


def use_translators(gettext, ngettext):
    global _gettext, _ngettext
    _gettext, _ngettext = gettext, ngettext


def _(message):
    return _gettext(message) if _gettext is not None else message


def ngettext(singular, plural, number):
    if _ngettext is not None:
        return _ngettext(singular, plural, number)
    return singular if number == 1 else plural


def gettext_noop(message):
    return message
