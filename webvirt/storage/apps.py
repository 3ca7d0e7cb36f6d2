from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "webvirt.storage"
    label = "storage"

    def ready(self):
        from webvirt.hosts.sync import register_inventory
        from webvirt.hypervisor.storage import list_pools

        from . import actions, inventory  # noqa: F401  (declares the storage actions)

        register_inventory(list_pools, inventory.apply_listing)
