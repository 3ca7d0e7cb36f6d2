import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_OBJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def validate_object_name(value):
    """Names of guests, pools, volumes and networks: safe in paths, XML and shells alike."""
    if not _OBJECT_NAME.fullmatch(value or "") or ".." in value:
        raise ValidationError(
            _(
                "Use up to 100 letters, digits, '.', '_' and '-', starting with a letter or digit "
                "(no spaces, slashes or XML characters)."
            )
        )


def validate_display_name(value):
    """Names people read on pages (hosts): letters of any script, digits, spaces, '.', '_', '-'.
    Control, format and bidi characters (U+202E turns text around) are refused, and so are '..'
    and spaces at either end, so that two names that look alike are alike."""
    allowed = all(unicodedata.category(char)[0] in "LMN" or char in " ._-" for char in value)
    if not value or not allowed or ".." in value or value != value.strip():
        raise ValidationError(
            _("Use letters, digits, spaces, '.', '_' and '-', with no '..' and no space at the start or end.")
        )
