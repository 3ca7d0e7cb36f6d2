import logging

from django.core.exceptions import DisallowedHost, PermissionDenied
from django.http import Http404


class ExpectedRefusals(logging.Filter):
    """Refusals are part of normal work (a 403 for an action the user may not take, a 404 for what
    they may not see, a request for a host name we do not serve): log one line with the reason, not a
    traceback."""

    EXPECTED = (PermissionDenied, Http404, DisallowedHost)

    def filter(self, record):
        if record.exc_info and isinstance(record.exc_info[1], self.EXPECTED):
            reason = str(record.exc_info[1])
            if reason and reason not in str(record.msg):
                record.msg = f"{record.msg} ({reason})"
            record.exc_info = record.exc_text = None
        return True
