"""Its own module: DRF reads the pagination class while importing its generic views."""

from rest_framework import pagination


class LimitOffset(pagination.LimitOffsetPagination):
    """`limit` (at most 1000) and `offset`; an offset past the end is an empty page, never an error."""

    default_limit = 50
    max_limit = 1000
