"""The parser alone: encodings, multipart, attachments, refusals (no servers, no DB)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svyaz.intake.mail.html import html_to_text
from svyaz.intake.mail.parser import MalformedMail, decode_bytes, mail_parse
from svyaz.intake.mail.threads import msgid_list, msgid_normalize
from tests.intake_mail import mails


def test_it_reads_koi8r_encoded_words_and_a_koi8r_body():
    parsed = mail_parse(mails.koi8r(message_id="<k@x>"))
    assert parsed.subject == "Счёт на оплату"
    assert parsed.from_name == "Пётр Кузнецов"
    assert parsed.from_address == "petr@koi8.ru"
    assert parsed.text == "Добрый день! Пришлите, пожалуйста, счёт."
    assert parsed.message_id == "<k@x>"
    assert parsed.date.isoformat() == "2026-11-30T11:00:00+03:00"


def test_it_reads_raw_windows1251_headers_and_prefers_the_text_part():
    parsed = mail_parse(mails.cp1251_raw_headers())
    assert parsed.subject == "Вопрос о доставке"
    assert parsed.from_name == "Ольга Смирнова"
    assert parsed.text == "Здравствуйте! Интересует доставка в Казань."
    assert "<p>Здравствуйте!</p>" in parsed.html  # kept as received, shown as text only


def test_an_html_only_message_becomes_text_without_scripts():
    html = "<html><head><style>p{}</style></head><body><p>Привет,&nbsp;мир</p><script>x()</script><br>Пока</body></html>"
    raw = (
        "From: a@client.ru\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + html
    ).encode()
    parsed = mail_parse(raw)
    assert parsed.text == "Привет, мир\n\nПока"
    assert html_to_text("<b>a</b><div>b</div>") == "a\nb"


def test_it_takes_attachments_with_cyrillic_names_in_both_encodings():
    parsed = mail_parse(mails.with_attachments(big=10))
    assert parsed.text == "Договор во вложении."
    names = [(a.filename, a.content_type, a.size) for a in parsed.attachments]
    assert names[0] == ("договор.pdf", "application/pdf", len(b"%PDF-1.4 fake pdf bytes"))
    assert names[1][0] == "счёт.csv"
    assert parsed.attachments[1].data.decode("cp1251") == "номер;сумма\n1;100\n"
    # A path in a file name is reduced to its last part.
    assert names[2] == ("big.bin", "application/octet-stream", 10)


def test_a_body_without_charset_or_with_an_unknown_one_is_still_read():
    body = "Нужна консультация по тарифам".encode("cp1251")
    for ctype in ("text/plain", "text/plain; charset=x-unknown", "text/plain; charset=win-1251"):
        raw = f"From: a@client.ru\r\nContent-Type: {ctype}\r\n\r\n".encode() + body
        assert mail_parse(raw).text == "Нужна консультация по тарифам", ctype
    assert decode_bytes("Привет".encode("koi8-r")) == "Привет"
    assert decode_bytes("Привет".encode("cp1251")) == "Привет"


def test_a_message_without_message_id_gets_a_stable_one():
    raw = b"From: a@client.ru\r\nSubject: x\r\n\r\nbody"
    first, second = mail_parse(raw), mail_parse(raw)
    assert first.message_id == second.message_id
    assert first.message_id.endswith("@no-message-id.svyaz>")
    assert mail_parse(raw + b"!").message_id != first.message_id


@pytest.mark.parametrize(
    "raw",
    [mails.GARBAGE, mails.NO_SENDER, b"", b"From: not an address\r\n\r\nx", b"From: <>\r\n\r\n"],
)
def test_it_refuses_what_is_not_mail_with_a_reason(raw):
    with pytest.raises(MalformedMail) as exc:
        mail_parse(raw)
    assert str(exc.value)


def test_message_ids_are_normalised_and_listed_in_order():
    assert msgid_normalize("  <A@b>  ") == "<A@b>"
    assert msgid_normalize("a@b") == "<a@b>"
    assert msgid_list("<1@x> <2@x>\r\n\t<1@x> junk <3@x>") == ["<1@x>", "<2@x>", "<3@x>"]
    long = "<" + "x" * 400 + "@y>"
    assert len(msgid_normalize(long)) < 255
    assert msgid_normalize(long) == msgid_normalize(long)


def test_auto_replies_are_marked():
    assert mail_parse(mails.plain(extra="Auto-Submitted: auto-replied\r\n")).auto_submitted
    assert mail_parse(mails.plain(sender="MAILER-DAEMON@client.ru")).auto_submitted
    assert not mail_parse(mails.plain(extra="Auto-Submitted: no\r\n")).auto_submitted


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    head=st.binary(max_size=300),
    body=st.binary(max_size=1500),
    ctype=st.sampled_from(
        [
            b"text/plain; charset=koi8-r",
            b"text/html; charset=bogus",
            b"multipart/mixed; boundary=X",
            b"multipart/alternative",
            b"message/rfc822",
            b"application/pdf; name*=utf-8''%FF%FE",
        ]
    ),
)
def test_no_bytes_crash_the_parser(head, body, ctype):
    raw = b"From: a@client.ru\r\nContent-Type: " + ctype + b"\r\n" + head + b"\r\n\r\n" + body
    try:
        parsed = mail_parse(raw)
    except MalformedMail:
        return
    assert isinstance(parsed.text, str) and "\x00" not in parsed.text
    for attachment in parsed.attachments:
        assert attachment.filename and "/" not in attachment.filename
