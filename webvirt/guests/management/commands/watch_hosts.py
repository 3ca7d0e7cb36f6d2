from django.core.management.base import BaseCommand
from django.db import close_old_connections

from webvirt.guests.watcher import HostWatcher


class Command(BaseCommand):
    help = "Follow libvirt lifecycle events on every enabled host and keep the inventory current."

    def handle(self, *args, **options):
        watcher = HostWatcher()
        try:
            while True:
                close_old_connections()  # a long-lived process: drop broken or expired DB connections
                watcher.step()
        except KeyboardInterrupt:
            pass
        finally:
            watcher.stop()
