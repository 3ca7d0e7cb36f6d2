from django.apps import AppConfig


class ConsolesConfig(AppConfig):
    name = "webvirt.consoles"
    label = "consoles"

    def ready(self):
        from . import signals  # noqa: F401  (connects the receivers)
