import re

from django.core.exceptions import ValidationError

_OBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def validate_object_name(value):
    """Names of guests, pools, volumes and networks: safe in paths, XML and shells alike."""
    if not _OBJECT_NAME.match(value or "") or ".." in value:
        raise ValidationError(
            "Use up to 100 letters, digits, '.', '_' and '-', starting with a letter or digit "
            "(no spaces, slashes or XML characters)."
        )
