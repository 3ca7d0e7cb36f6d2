"""First-run set-up for `make run`: register the local host and create an admin account once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from webvirt.hosts.models import Host


class Command(BaseCommand):
    help = "Register qemu:///system and create an admin with a random password, if not done before."

    def add_arguments(self, parser):
        parser.add_argument("--no-local-host", action="store_true", help="Do not register qemu:///system.")

    def handle(self, *args, no_local_host=False, **options):
        users = get_user_model()
        if not users.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            users.objects.create_superuser("admin", email="", password=password)
            self.stdout.write(
                self.style.WARNING(f"Created the admin account. Log in as 'admin' with password: {password}")
                + "\n(shown only this once; change it after logging in)"
            )
        if not no_local_host and not Host.objects.exists():
            # Nothing queued here: Redis may not run yet. The watcher reads every host when it starts.
            Host.objects.create(name="local", transport="local")
            self.stdout.write("Registered the local libvirt host (qemu:///system).")
