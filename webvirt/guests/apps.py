from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from . import operations  # noqa: F401  (registers operation handlers)
