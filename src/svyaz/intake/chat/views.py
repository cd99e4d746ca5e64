"""The chat's pages and endpoints.

Public (the widget on a company's site, CORS for the widget's sites):
- `widget.js` — the script; `w/<key>/` — its settings; `w/<key>/start/` — the first
  message (answers the visitor's token); `w/<key>/send/` and `w/<key>/messages/` — the HTTP
  fallback (token in the X-Svyaz-Visitor header) used when WebSockets are not available,
  e.g. under the embedded mode's WSGI server. Short polling: a long poll would hold one of
  waitress's few threads per visitor.

Operators (signed in): the open conversations, one conversation with live updates, the
answer and close actions; the widgets' embed codes (staff).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from svyaz.core.access import settings_required
from svyaz.core.errors import NotFound, PermissionDenied
from svyaz.intake.chat import realtime, selectors, services
from svyaz.intake.chat.origins import cors, origin_allowed
from svyaz.intake.models import ChatWidget, ConversationStatus
from svyaz.intake.regions import request_language

MAX_BODY_BYTES = 16 * 1024
WIDGET_JS = Path(__file__).resolve().parent.parent / "static" / "intake" / "chat-widget.js"
POLL_SECONDS = 3


@lru_cache(maxsize=1)
def _widget_js() -> bytes:
    return WIDGET_JS.read_bytes()


def _client_ip(request: HttpRequest) -> str | None:
    # As for web forms: the proxy must set REMOTE_ADDR; X-Forwarded-For is not trusted.
    return request.META.get("REMOTE_ADDR") or None


def widget_js(request: HttpRequest) -> HttpResponse:
    """The embeddable script (the same for every widget: it reads data-key)."""
    response = HttpResponse(_widget_js(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # a public script; it carries no data
    return response


def _widget_or_404(key: str) -> ChatWidget:
    return get_object_or_404(ChatWidget, key=key, active=True)


def _refuse_origin(request: HttpRequest, widget: ChatWidget) -> HttpResponse | None:
    origin = request.headers.get("Origin")
    if widget.allowed_origins and origin and not origin_allowed(widget, origin):
        return JsonResponse(
            {"ok": False, "error": _("This site may not use the chat.")}, status=403
        )
    return None


def _json_body(request: HttpRequest) -> dict:
    if len(request.body) > MAX_BODY_BYTES:
        raise ValidationError({"__all__": [_("Too large.")]})
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError({"__all__": [_("The body is not JSON.")]}) from exc
        if not isinstance(data, dict):
            raise ValidationError({"__all__": [_("The body must be a JSON object.")]})
        return data
    return {k: request.POST.get(k, "") for k in request.POST}


def _widget_endpoint(handler):
    """CORS, preflight, origin check and the visitor's errors as JSON for the widget's
    public endpoints."""

    @csrf_exempt  # called from other sites; authenticated by the widget key + visitor token
    def view(request: HttpRequest, key: str) -> HttpResponse:
        widget = _widget_or_404(key)
        if request.method == "OPTIONS":
            return cors(request, widget, HttpResponse(status=204))
        refused = _refuse_origin(request, widget)
        if refused is not None:
            return refused
        try:
            response = handler(request, widget)
        except ValidationError as exc:
            response = JsonResponse({"ok": False, "errors": exc.message_dict}, status=400)
        except services.Flooded:
            response = JsonResponse(
                {"ok": False, "error": _("Too many messages. Please wait a little.")}, status=429
            )
            response["Retry-After"] = "60"
        except UnknownVisitor:
            response = JsonResponse(
                {"ok": False, "error": _("This conversation is not known.")}, status=404
            )
        return cors(request, widget, response)

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


class UnknownVisitor(Exception):  # noqa: N818 - an answer (404), not a bug
    """No conversation for this token (forgotten by the browser, or never existed)."""


def _visitor_conversation(request: HttpRequest, widget: ChatWidget):
    token = request.headers.get("X-Svyaz-Visitor", "")
    conversation = services.visitor_conversation(widget=widget, token=token)
    if conversation is None:
        raise UnknownVisitor
    return conversation


def _messages_json(conversation, after: int = 0) -> list[dict]:
    return [
        realtime.message_json(m) for m in selectors.conversation_messages(conversation, after=after)
    ]


def _after(request: HttpRequest) -> int:
    try:
        return max(0, int(request.GET.get("after") or 0))
    except ValueError:
        return 0


@_widget_endpoint
def widget_config(request: HttpRequest, widget: ChatWidget) -> HttpResponse:
    """The widget's title, greeting and texts in the visitor's language."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, OPTIONS"})
    return JsonResponse(
        {
            "title": widget.title,
            "greeting": widget.greeting,
            "poll_seconds": POLL_SECONDS,
            "socket_path": f"/ws/chat/widget/{widget.key}/",
            "texts": {
                "open": _("Chat"),
                "close": _("Close"),
                "placeholder": _("Type a message…"),
                "send": _("Send"),
                "name": _("Your name"),
                "contact": _("Email or phone (optional)"),
                "operator": _("Operator"),
                "you": _("You"),
                "closed": _("The conversation is closed. Write to start it again."),
                "error": _("The message was not sent. Please try again."),
            },
        }
    )


def _split_contact(value: str) -> tuple[str, str]:
    """The one "email or phone" box → (email, phone)."""
    value = str(value or "").strip()
    if not value:
        return "", ""
    return (value, "") if "@" in value else ("", value)


@_widget_endpoint
def widget_start(request: HttpRequest, widget: ChatWidget) -> HttpResponse:
    """The visitor's first message: opens the conversation, answers the visitor's token."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    data = _json_body(request)
    email, phone = _split_contact(data.get("contact", ""))
    try:
        conversation, token, _message = services.chat_start(
            widget=widget,
            text=data.get("text", ""),
            name=data.get("name", ""),
            email=data.get("email", "") or email,
            phone=data.get("phone", "") or phone,
            landing_page=data.get("page", "") or request.headers.get("Referer", ""),
            referrer=data.get("referrer", ""),
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            language=request_language(
                given=str(data.get("language", "")),
                header=request.headers.get("Accept-Language", ""),
            ),
        )
    except ValidationError as exc:
        errors = exc.message_dict
        if "email" in errors or "phone" in errors:  # the widget shows one box for both
            errors["contact"] = errors.pop("email", []) + errors.pop("phone", [])
        raise ValidationError(errors) from exc
    return JsonResponse(
        {
            "ok": True,
            "token": token,
            "conversation": conversation.pk,
            "status": conversation.status,
            "messages": _messages_json(conversation),
        }
    )


@_widget_endpoint
def widget_send(request: HttpRequest, widget: ChatWidget) -> HttpResponse:
    """A visitor's next message over HTTP (no WebSocket)."""
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS"})
    conversation = _visitor_conversation(request, widget)
    data = _json_body(request)
    message = services.visitor_message_add(conversation=conversation, text=data.get("text", ""))
    return JsonResponse({"ok": True, "message": realtime.message_json(message)})


@_widget_endpoint
def widget_messages(request: HttpRequest, widget: ChatWidget) -> HttpResponse:
    """Polling: the messages after id `after` and the conversation's status."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, OPTIONS"})
    conversation = _visitor_conversation(request, widget)
    return JsonResponse(
        {
            "ok": True,
            "status": conversation.status,
            "messages": _messages_json(conversation, _after(request)),
        }
    )


# --- operators -------------------------------------------------------------------------


def _conversation_or_404(request: HttpRequest, pk: int):
    try:
        return selectors.conversation_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404 from exc


def _list_context(request: HttpRequest) -> dict:
    status = request.GET.get("status") or ConversationStatus.OPEN
    mine = request.GET.get("mine") == "1"
    conversations = selectors.conversation_list(user=request.user, status=status, mine=mine)[:200]
    return {"conversations": conversations, "status": status, "mine": mine}


@login_required
def chat_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request)
    if request.htmx:
        return render(request, "intake/chat_list.html#conversation-rows", context)
    return render(request, "intake/chat_list.html", context)


@login_required
def chat_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    return render(
        request,
        "intake/chat_detail.html",
        {
            "conversation": conversation,
            "chat_messages": selectors.conversation_messages(conversation),
            "error": "",
        },
    )


@login_required
def chat_messages(request: HttpRequest, pk: int) -> HttpResponse:
    """The messages after id `after`, as HTML (the live update and polling fetch this)."""
    conversation = _conversation_or_404(request, pk)
    response = render(
        request,
        "intake/chat_detail.html#message-items",
        {
            "conversation": conversation,
            "chat_messages": selectors.conversation_messages(conversation, after=_after(request)),
        },
    )
    response["X-Chat-Status"] = conversation.status
    return response


@login_required
@require_POST
def chat_reply(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    error = ""
    try:
        services.operator_reply(
            actor=request.user, conversation=conversation, text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        error = " ".join(exc.message_dict.get("text", exc.messages))
    except PermissionDenied as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            context = {
                "conversation": conversation,
                "chat_messages": selectors.conversation_messages(conversation),
                "error": error,
                "text": request.POST.get("text", ""),
            }
            return render(request, "intake/chat_detail.html", context, status=400)
        return redirect("intake:chat_detail", pk=conversation.pk)
    response = render(
        request,
        "intake/chat_detail.html#reply-form",
        {
            "conversation": conversation,
            "error": error,
            "text": request.POST.get("text", "") if error else "",
        },
    )
    if not error:
        response["HX-Trigger"] = "chat-sent"
    return response


@login_required
@require_POST
def chat_close(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation_or_404(request, pk)
    try:
        services.conversation_close(actor=request.user, conversation=conversation)
    except PermissionDenied as exc:
        return HttpResponse(str(exc), status=403)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("intake:chat_list")
        return response
    return redirect("intake:chat_list")


def embed_snippet(request: HttpRequest, widget: ChatWidget) -> str:
    return render_to_string(
        "intake/chat_embed_snippet.html",
        {"widget": widget, "script": request.build_absolute_uri(reverse("intake:chat_widget_js"))},
    ).strip()


@settings_required("auto")  # settings: GET needs view, POST edit
def chat_widgets(request: HttpRequest) -> HttpResponse:
    widgets = [(w, embed_snippet(request, w)) for w in ChatWidget.objects.order_by("name", "id")]
    return render(request, "intake/chat_widgets.html", {"widgets": widgets})
