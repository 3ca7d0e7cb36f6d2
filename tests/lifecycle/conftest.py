import pytest

from webvirt.lifecycle import schedules


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the power schedules due at a UTC minute, with what they queue run here."""

    def run(minute):
        with django_capture_on_commit_callbacks(execute=True):
            return schedules.run(minute)

    return run
