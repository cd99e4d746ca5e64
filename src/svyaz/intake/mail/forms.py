"""Forms of the mail pages. Validation of substance is in the services."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from svyaz.core.forms import StyledForm, StyledModelForm
from svyaz.intake.mail.merge import MERGE_FIELDS
from svyaz.intake.mail.services import MAILBOX_FIELDS
from svyaz.intake.models import EmailTemplate, Mailbox

KEEP_SECRET = _("Stored; leave empty to keep it.")


class ServiceErrorsMixin:
    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        else:
            self.add_error(None, exc.messages)


class MailboxForm(ServiceErrorsMixin, StyledModelForm):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Mailbox
        fields = MAILBOX_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("imap_password", "smtp_password"):
            if self.instance.pk and getattr(self.instance, name):
                self.fields[name].help_text = KEEP_SECRET

    def _post_clean(self):
        # The service validates the model (it knows about kept passwords).
        pass


class EmailTemplateForm(ServiceErrorsMixin, StyledModelForm):
    class Meta:
        model = EmailTemplate
        fields = ("name", "subject", "body", "active")
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = ", ".join("{{ %s }}" % n for n in MERGE_FIELDS)  # noqa: UP031
        self.fields["body"].help_text = _("Merge fields: %(list)s") % {"list": names}

    def _post_clean(self):
        pass


class ComposeForm(ServiceErrorsMixin, StyledForm):
    mailbox = forms.ModelChoiceField(
        label=_("From"), queryset=Mailbox.objects.none(), empty_label=None
    )
    to = forms.CharField(label=_("To"), max_length=1000)
    template = forms.ModelChoiceField(
        label=_("Template"), queryset=EmailTemplate.objects.none(), required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=500)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}))
    reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = Mailbox.objects.filter(active=True).exclude(smtp_host="")
        self.fields["template"].queryset = EmailTemplate.objects.filter(active=True)
        names = ", ".join("{{ %s }}" % n for n in MERGE_FIELDS)  # noqa: UP031
        self.fields["body"].help_text = _("Merge fields: %(list)s") % {"list": names}
