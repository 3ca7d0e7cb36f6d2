from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "webvirt.networks"
    label = "networks"

    def ready(self):
        from webvirt.hosts.sync import register_inventory
        from webvirt.hypervisor.networks import list_networks

        from . import actions, inventory  # noqa: F401  (declares the network actions)

        register_inventory(list_networks, inventory.apply_listing)
