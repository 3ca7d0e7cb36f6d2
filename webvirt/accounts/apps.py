from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webvirt.accounts"
    label = "accounts"

    def ready(self):
        from . import actions  # noqa: F401  (declares the accounts' actions)
