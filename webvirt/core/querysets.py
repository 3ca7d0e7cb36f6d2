from django.db import models

from . import policy


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """The rows `user` may perform `action` on, as decided by the policy module."""
        return policy.restrict(self, user, action)


class InventoryQuerySet(models.QuerySet):
    """Rows of what a host reports; a row its host no longer lists is kept with `gone_at` set."""

    def present(self):
        return self.filter(gone_at__isnull=True)
