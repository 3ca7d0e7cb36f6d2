from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "webvirt.networks"
    label = "networks"

    def ready(self):
        from . import actions  # noqa: F401  (declares the network actions)
