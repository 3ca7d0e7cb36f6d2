from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "webvirt.networks"
    label = "networks"

    def ready(self):
        from . import operations  # noqa: F401  (registers operation handlers)
