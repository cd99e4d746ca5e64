"""Mailboxes: IMAP import (exactly once), parsing, threading, matching, SMTP sending.

parser.py    bytes → ParsedMail (MIME, Russian encodings, attachments; never raises
             for bad mail: MalformedMail is the one refusal)
threads.py   Message-ID normalisation and thread keys
importer.py  one message → EmailMessage + timeline activity or a lead, or quarantine
imap.py      the poller: new UIDs, one transaction per message with the UID mark
sender.py    writing from the client card over SMTP, threaded replies
merge.py     {{ contact.first_name }} merge fields (a fixed list, no template language)
"""
