"""Object names end where they seem to: no newline slips past the end of the pattern."""

import pytest
from django.core.exceptions import ValidationError

from webvirt.core.validators import validate_object_name


@pytest.mark.parametrize("name", ["vm1\n", "vm1\r", "../vm", "vm 1", "-vm", ""])
def test_object_names_refuse_what_the_pattern_does_not_cover(name):
    with pytest.raises(ValidationError):
        validate_object_name(name)


def test_object_names_accept_plain_names():
    validate_object_name("debian-12.qcow2")
