"""Mail pages: settings (staff), writing from the client card, threads, attachments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from svyaz.contacts.models import Contact
from svyaz.core.access import settings_required
from svyaz.core.errors import PermissionDenied
from svyaz.core.scoping import visible_to
from svyaz.intake.mail import selectors, services
from svyaz.intake.mail.forms import ComposeForm, EmailTemplateForm, MailboxForm
from svyaz.intake.mail.imap import MailboxError, mailbox_poll
from svyaz.intake.mail.merge import merge_render
from svyaz.intake.mail.sender import email_send
from svyaz.intake.models import (
    EmailAttachment,
    EmailMessage,
    EmailTemplate,
    Mailbox,
    MailDirection,
    MailQuarantine,
)
from svyaz.sales.models import Lead


def _done(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- settings (staff) -----------------------------------------------------------------


@settings_required("auto")  # settings: GET needs view, POST edit
@require_http_methods(["GET"])
def mail_settings(request: HttpRequest) -> HttpResponse:
    context = {
        "mailboxes": Mailbox.objects.select_related("owner", "routing_group"),
        "templates": EmailTemplate.objects.all(),
        "quarantined": MailQuarantine.objects.filter(resolved_at__isnull=True).count(),
    }
    return render(request, "intake/mail_settings.html", context)


def _settings_form(request, *, form_class, service, instance, title):
    if request.method == "POST":
        form = form_class(request.POST, instance=instance)
        if form.is_valid():
            try:
                service(actor=request.user, data=dict(form.cleaned_data), **instance_kw(instance))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Saved."))
                return _done(request, reverse("intake:mail_settings"))
    else:
        form = form_class(instance=instance)
    return render(request, "intake/mail_form.html", {"form": form, "title": title})


def instance_kw(instance) -> dict:
    if instance is None:
        return {}
    return {"mailbox": instance} if isinstance(instance, Mailbox) else {"template": instance}


@settings_required("auto")  # settings: GET needs view, POST edit
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk) if pk else None
    return _settings_form(
        request,
        form_class=MailboxForm,
        service=services.mailbox_save,
        instance=mailbox,
        title=str(mailbox) if mailbox else _("New mailbox"),
    )


@settings_required("auto")  # settings: GET needs view, POST edit
@require_POST
def mailbox_poll_now(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    try:
        result = mailbox_poll(mailbox)
    except MailboxError as exc:
        messages.error(request, _("%(mailbox)s: %(error)s") % {"mailbox": mailbox, "error": exc})
    else:
        messages.success(
            request,
            _("%(mailbox)s: %(n)d new, %(q)d quarantined.")
            % {"mailbox": mailbox, "n": result.imported, "q": result.quarantined},
        )
    return _done(request, reverse("intake:mail_settings"))


@settings_required("auto")  # settings: GET needs view, POST edit
@require_http_methods(["GET", "POST"])
def email_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk) if pk else None
    return _settings_form(
        request,
        form_class=EmailTemplateForm,
        service=services.email_template_save,
        instance=template,
        title=template.name if template else _("New email template"),
    )


@settings_required("auto")  # settings: GET needs view, POST edit
@require_http_methods(["GET"])
def mail_quarantine(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("all") == "1"
    entries = MailQuarantine.objects.select_related("mailbox")
    if not show_all:
        entries = entries.filter(resolved_at__isnull=True)
    return render(
        request,
        "intake/mail_quarantine.html",
        {"entries": entries[:200], "show_all": show_all},
    )


@settings_required("auto")  # settings: GET needs view, POST edit
@require_POST
def mail_quarantine_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    entry = get_object_or_404(MailQuarantine.objects.select_related("mailbox"), pk=pk)
    try:
        if action == "retry":
            services.quarantine_retry(actor=request.user, entry=entry)
            messages.success(request, _("Imported."))
        elif action == "dismiss":
            services.quarantine_dismiss(actor=request.user, entry=entry)
            messages.success(request, _("Dismissed."))
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, _("Still cannot import it: %(e)s") % {"e": " ".join(exc.messages)})
    return _done(request, reverse("intake:mail_quarantine"))


@settings_required("auto")  # settings: GET needs view, POST edit
@require_http_methods(["GET"])
def mail_quarantine_raw(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(MailQuarantine, pk=pk)
    if not entry.raw:
        raise Http404
    return FileResponse(
        entry.raw.open("rb"),
        as_attachment=True,
        filename=f"quarantine-{entry.pk}.eml",
        content_type="message/rfc822",
    )


# --- writing and reading (any user, scoped) ---------------------------------------------


def _client(request: HttpRequest, data) -> tuple[Contact | None, Lead | None]:
    """?contact= / ?lead= → the record in the user's scope, else 404."""
    contact = lead = None
    if data.get("contact"):
        contact = (
            visible_to(request.user, Contact.objects.all())
            .filter(pk=_int(data.get("contact")))
            .first()
        )
        if contact is None:
            raise Http404
    elif data.get("lead"):
        lead = (
            visible_to(request.user, Lead.objects.all()).filter(pk=_int(data.get("lead"))).first()
        )
        if lead is None:
            raise Http404
    else:
        raise Http404
    return contact, lead


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc


def _default_to(contact, lead, reply: EmailMessage | None) -> str:
    if reply is not None and reply.direction == MailDirection.IN and reply.from_address:
        return reply.from_address
    if contact is not None:
        emails = list(contact.emails.all())
        return emails[0].email if emails else ""
    return lead.email if lead is not None else ""


def _reply_subject(subject: str) -> str:
    return subject if subject.lower().startswith(("re:", "на:")) else f"Re: {subject}"


@login_required
@require_http_methods(["GET", "POST"])
def mail_compose(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    contact, lead = _client(request, data)
    reply = None
    if data.get("reply_to"):
        reply = selectors.email_message_get(request.user, data.get("reply_to"))
    client_url = (
        reverse("contacts:contact_detail", args=[contact.pk])
        if contact is not None
        else reverse("sales:lead_detail", args=[lead.pk])
    )
    if request.method == "POST":
        form = ComposeForm(request.POST)
        if form.is_valid():
            try:
                email_send(
                    actor=request.user,
                    mailbox=form.cleaned_data["mailbox"],
                    to=form.cleaned_data["to"],
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    contact=contact,
                    lead=lead,
                    reply_to=reply,
                )
            except PermissionDenied as exc:
                raise Http404 from exc
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("The email is sent."))
                return _done(request, client_url)
    else:
        initial = {
            "to": data.get("to") or _default_to(contact, lead, reply),
            "reply_to": reply.pk if reply is not None else None,
            "subject": data.get("subject", ""),
            "body": data.get("body", ""),
        }
        if data.get("mailbox"):
            initial["mailbox"] = data.get("mailbox")
        elif reply is not None:
            initial["mailbox"] = reply.mailbox_id
        if reply is not None and not initial["subject"]:
            initial["subject"] = _reply_subject(reply.subject)
        template = None
        if data.get("template"):
            template = EmailTemplate.objects.filter(pk=_int(data["template"]), active=True).first()
        if template is not None:
            initial["template"] = template.pk
            # The person sees the text as the client will; it stays editable. A reply keeps
            # its "Re:" subject (mail programs thread by it too).
            if reply is None:
                initial["subject"] = (
                    merge_render(template.subject, contact=contact, lead=lead, user=request.user)
                    or initial["subject"]
                )
            initial["body"] = merge_render(
                template.body, contact=contact, lead=lead, user=request.user
            )
        form = ComposeForm(initial=initial)
    context = {
        "form": form,
        "contact": contact,
        "lead": lead,
        "reply": reply,
        "client_url": client_url,
        "no_mailbox": not form.fields["mailbox"].queryset.exists(),
    }
    template_name = "intake/mail_compose.html#form" if request.htmx else "intake/mail_compose.html"
    return render(request, template_name, context)


@login_required
@require_http_methods(["GET"])
def mail_thread(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.email_message_get(request.user, pk)
    thread = selectors.email_thread(request.user, message)
    return render(
        request,
        "intake/mail_thread.html",
        {"message": message, "thread": thread, "current": message.pk},
    )


@login_required
@require_http_methods(["GET"])
def mail_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    attachment = get_object_or_404(EmailAttachment.objects.select_related("message"), pk=pk)
    # Scope through the message: an attachment of a message the user can't see is a 404.
    selectors.email_message_get(request.user, attachment.message_id)
    if not attachment.file:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )


@login_required
@require_http_methods(["GET"])
def mail_contact_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Email" block of the contact card (loaded by HTMX)."""
    contact = visible_to(request.user, Contact.objects.all()).filter(pk=pk).first()
    if contact is None:
        raise Http404
    threads = selectors.email_threads_for_contact(request.user, contact)
    return render(
        request,
        "intake/mail_card.html#threads",
        {"contact": contact, "threads": threads},
    )
