from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "webvirt.usage"
    label = "usage"

    def ready(self):
        from . import rules

        rules.register()
