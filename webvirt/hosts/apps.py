from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "webvirt.hosts"
    label = "hosts"

    def ready(self):
        from . import operations  # noqa: F401  (registers operation handlers)
