from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "webvirt.storage"
    label = "storage"

    def ready(self):
        from . import operations  # noqa: F401  (registers operation handlers)
