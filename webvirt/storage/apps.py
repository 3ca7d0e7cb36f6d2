from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "webvirt.storage"
    label = "storage"

    def ready(self):
        from . import actions  # noqa: F401  (declares the storage actions)
