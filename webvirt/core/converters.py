"""The path converter for database ids, registered once as `<id:...>` and used by every urls.py."""

import re

from django.urls import register_converter

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField on every supported database
_DIGITS = re.compile("[0-9]{1,19}")


def is_database_id(value):
    """True for 1 .. 2**63-1 written in ASCII digits: a value a row's id can have."""
    return bool(_DIGITS.fullmatch(str(value))) and 1 <= int(value) <= MAX_ID


class DatabaseIdConverter:
    """Matches 1 .. 2**63-1 only, so a huge, zero or signed id is a 404 and never reaches a query."""

    regex = _DIGITS.pattern

    def to_python(self, value):
        if not is_database_id(value):
            raise ValueError(f"{value} is not a database id")  # the resolver then tries the next pattern
        return int(value)

    def to_url(self, value):
        return str(value)


def register():
    register_converter(DatabaseIdConverter, "id")
