"""WebSocket routes of the chat (mounted by svyaz.asgi).

Operators' sockets carry the session (AuthMiddlewareStack) and only this site's pages may
open them (the Origin checked against ALLOWED_HOSTS, as a same-origin form post would be).
Visitors' sockets have no session: the consumer checks the Origin against the widget's
sites and the visitor's token."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from svyaz.intake.chat import consumers


def _operator(consumer):
    return AllowedHostsOriginValidator(AuthMiddlewareStack(consumer))


websocket_urlpatterns = [
    path("ws/chat/widget/<slug:key>/", consumers.WidgetConsumer.as_asgi()),
    path("ws/chat/operator/", _operator(consumers.OperatorConsumer.as_asgi())),
    path("ws/chat/operator/<int:pk>/", _operator(consumers.OperatorConsumer.as_asgi())),
]
