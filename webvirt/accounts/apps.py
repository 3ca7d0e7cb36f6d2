from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "webvirt.accounts"
    label = "accounts"

    def ready(self):
        from . import actions, language  # noqa: F401  (declare the actions; remember languages at sign-in)
