from django.apps import AppConfig


class GuestsConfig(AppConfig):
    name = "webvirt.guests"
    label = "guests"

    def ready(self):
        from webvirt import hypervisor
        from webvirt.accounts import ownership
        from webvirt.accounts.quotas import count_owned
        from webvirt.core import live
        from webvirt.hosts.sync import register_inventory

        from . import actions, inventory, quotas, roles
        from .models import Guest

        roles.register()
        count_owned(quotas.owned_by)
        ownership.register(actions.OWNED_GUESTS)
        register_inventory(hypervisor.list_guests, inventory.apply_listing)
        live.follow("guest", lambda user, pk: Guest.objects.restrict(user, "view").filter(pk=pk).exists())
        live.follow("guests", lambda user, pk: pk is None)
