"""Why a console closes: WebSocket close codes (4000-4999 are the application's) and reasons.

The page shows the reason; the code lets it decide whether reconnecting can help.
"""

BAD_ORIGIN = 4400
NOT_LOGGED_IN = 4401
FORBIDDEN = 4403
NO_DISPLAY = 4404
TICKET_EXPIRED = 4408
TICKET_USED = 4409
NOT_RUNNING = 4410
CONSOLE_BUSY = 4423
UNREACHABLE = 4502
GUEST_STOPPED = 4100
DISPLAY_CLOSED = 4101
ACCESS_REVOKED = 4103
GUEST_MOVING = 4302  # its display closed because it is moving to another host: the page reconnects


class ConsoleRefused(Exception):
    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason
