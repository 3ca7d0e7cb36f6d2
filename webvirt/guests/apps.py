from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from . import actions, change_operations, operations, roles  # noqa: F401  (declare actions, handlers)

        roles.register()
