from django.db import models

from . import policy


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """The rows `user` may perform `action` on, as decided by the policy module."""
        return policy.restrict(self, user, action)
