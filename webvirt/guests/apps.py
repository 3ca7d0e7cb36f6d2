from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from . import change_operations, operations  # noqa: F401  (register operation handlers)
