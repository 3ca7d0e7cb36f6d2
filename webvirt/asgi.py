import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webvirt.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402  (needs Django set up)

from webvirt.routing import websocket_application  # noqa: E402

# Consumers check the Origin themselves, so that a refusal can say why.
application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
