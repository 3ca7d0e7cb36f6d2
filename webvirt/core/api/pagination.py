"""Its own module: DRF reads the pagination class while importing its generic views."""

from rest_framework import pagination


class LimitOffset(pagination.LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000
    max_offset = 10**12  # far beyond any table, and far from the database's integer limits

    def get_offset(self, request):
        return min(super().get_offset(request), self.max_offset)
