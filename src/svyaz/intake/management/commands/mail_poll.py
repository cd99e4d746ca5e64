"""`manage.py mail_poll [--mailbox ID] [--batch N]`: import new mail now (cron-friendly;
the periodic job svyaz.intake.tasks.mail_poll does the same)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from svyaz.intake.mail.imap import DEFAULT_BATCH, MailboxError, mail_poll_all, mailbox_poll
from svyaz.intake.models import Mailbox


class Command(BaseCommand):
    help = "Import new mail from the IMAP mailboxes (each message exactly once)."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", type=int, help="only this mailbox (id)")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="messages per run")

    def handle(self, *args, mailbox=None, batch=DEFAULT_BATCH, **options):
        if mailbox is not None:
            box = Mailbox.objects.filter(pk=mailbox).first()
            if box is None:
                raise CommandError(f"no mailbox {mailbox}")
            try:
                results = {box.pk: mailbox_poll(box, batch=batch)}
            except MailboxError as exc:
                raise CommandError(str(exc)) from exc
        else:
            results = mail_poll_all(batch=batch)
        for pk, result in results.items():
            line = (
                f"mailbox {pk}: {result.imported} imported, {result.duplicates} duplicates, "
                f"{result.quarantined} quarantined"
            )
            if result.errors:
                line += f"; error: {'; '.join(result.errors)}"
            self.stdout.write(line)
