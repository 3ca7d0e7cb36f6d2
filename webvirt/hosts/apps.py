from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "webvirt.hosts"
    label = "hosts"

    def ready(self):
        from . import actions  # noqa: F401  (declares the host actions)
