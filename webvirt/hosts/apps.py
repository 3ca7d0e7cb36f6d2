from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "webvirt.hosts"
    label = "hosts"

    def ready(self):
        from webvirt.core import live

        from . import actions  # noqa: F401  (declares the host actions)
        from .models import Host

        # A host's page, and its pools' and networks' pages, follow the host's topic.
        live.follow("host", lambda user, pk: Host.objects.restrict(user).filter(pk=pk).exists())
        live.follow("hosts", lambda user, pk: pk is None)
