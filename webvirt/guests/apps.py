from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from webvirt import hypervisor
        from webvirt.accounts.quotas import count_owned
        from webvirt.hosts.sync import register_inventory

        from . import actions, inventory, quotas, roles  # noqa: F401  (actions: declares the guest actions)

        roles.register()
        count_owned(quotas.owned_by)
        register_inventory(hypervisor.list_guests, inventory.apply_listing)
