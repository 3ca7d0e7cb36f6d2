from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webvirt.accounts"
    label = "accounts"
