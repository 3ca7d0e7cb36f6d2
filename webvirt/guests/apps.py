from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from . import (  # noqa: F401  (register operation handlers)
            actions,
            change_operations,
            operations,
        )
