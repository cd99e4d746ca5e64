"""ASGI entry point: `uvicorn svyaz.asgi:application` serves the pages (HTTP) and the
chat's WebSockets (svyaz.intake.chat.routing: operators' sockets signed in by the session,
visitors' sockets by the widget key and the visitor's token)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "svyaz.settings")
# Django is set up first: the routing imports models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from svyaz.intake.chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

from svyaz.core.runtime import freeze_startup_objects  # noqa: E402

# Start-up objects out of the garbage collector's full walks (see svyaz.core.runtime).
freeze_startup_objects()
