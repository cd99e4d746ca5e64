"""Template helpers of intake for other apps' pages (the lead card's "Write email")."""

from __future__ import annotations

from django import template

from svyaz.intake.models import Mailbox

register = template.Library()


@register.simple_tag
def mail_ready() -> bool:
    """Is there a mailbox to send from (active, with an SMTP server)? The same mailboxes
    the compose page offers."""
    return Mailbox.objects.filter(active=True).exclude(smtp_host="").exists()
