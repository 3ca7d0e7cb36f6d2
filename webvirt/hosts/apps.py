from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "webvirt.hosts"
    label = "hosts"

    def ready(self):
        from . import (
            actions,  # noqa: F401  (declares its actions)
            operations,  # noqa: F401  (registers operation handlers)
        )
