"""The board's cards and filter inputs are rendered in Python (issue #6): the same markup
as the template partial and Django's widget templates they replace, checked here against
those templates on tricky data (escaping, missing contact/company, nameless owner,
hidden amounts, selected and invalid inputs)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from svyaz.contacts.models import Company
from svyaz.core.models import Tag
from svyaz.core.templatetags.svyaz import add_class
from svyaz.sales import selectors
from svyaz.sales import services as s
from svyaz.sales.filters import BoardFilter
from svyaz.sales.models import Deal
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

# The card partial of sales/board.html before issue #6's round 3, with the values the
# view computed for it (may_move, url, amount_text, days_text).
OLD_CARD = Template(
    """{% load i18n l10n %}
      <article class="card shadow-sm board-card{% if not deal.may_move %} locked{% endif %}" data-deal-id="{{ deal.pk|unlocalize }}">
        <div class="card-body p-2">
          <a class="fw-semibold text-decoration-none d-block" href="{{ deal.url }}">{{ deal.title }}</a>
          <div class="small text-muted text-truncate">{{ deal.contact|default:"" }}{% if deal.contact and deal.company %} · {% endif %}{{ deal.company|default:"" }}</div>
          <div class="d-flex justify-content-between small mt-1">
            <span class="deal-amount">{% if "amount" not in hidden.deals %}{{ deal.amount_text }}{% endif %}</span>
            <span class="text-muted days-in-stage" title="{% translate 'Days in stage' %}">{{ deal.days_text }}</span>
          </div>
          <div class="small text-muted">{{ deal.owner|default:"" }}</div>
        </div>
      </article>
"""
)


def _squash(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def _old_cards(user, deals: list[Deal], hidden: set[str]) -> list[str]:
    from django.utils.formats import localize
    from django.utils.translation import ngettext

    from svyaz.core.scoping import can
    from svyaz.core.templatetags.svyaz import money

    out = []
    for deal in deals:
        deal.may_move = can(user, "deals", "edit", deal)
        deal.url = reverse("sales:deal_detail", args=[deal.pk])
        deal.amount_text = "" if "amount" in hidden else money(deal.amount, deal.currency)
        d = deal.days_in_stage
        deal.days_text = ngettext("%(d)s day", "%(d)s days", d) % {"d": localize(d)}
        ctx = Context({"deal": deal, "hidden": {"deals": hidden}})
        out.append(_squash(OLD_CARD.render(ctx)))
    return out


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_cards_are_the_old_partial_byte_for_byte(admin, manager, teammate, pipeline, lang):
    from django.utils import translation

    nameless = UserFactory(username="x<y>", first_name="", last_name="")
    tricky = ContactFactory(owner=manager, first_name='<b>"Иван"</b>', last_name="&amp;")
    blank = ContactFactory(owner=manager)
    acme = Company.objects.create(name="ООО «Ромашка» & <Co>", owner=manager)
    made = [
        s.deal_create(
            actor=manager, title='<script>alert("x")</script>', pipeline=pipeline,
            amount="1234567.89", contact=tricky, company=acme,
        ),
        s.deal_create(actor=manager, title="No client", pipeline=pipeline, amount="0"),
        s.deal_create(
            actor=teammate, title="Theirs", pipeline=pipeline, amount="5", currency="USD",
            company=acme,
        ),
        s.deal_create(actor=manager, title="Nameless", pipeline=pipeline, contact=blank),
    ]  # fmt: skip
    Deal.objects.filter(pk=made[3].pk).update(owner=nameless)
    type(blank).objects.filter(pk=blank.pk).update(full_name="")
    request = RequestFactory().get("/")
    request.user = manager  # may move only their own cards: some are locked
    deals = selectors.deal_list(user=admin).filter(pipeline=pipeline)
    with translation.override(lang):
        for hidden in (set(), {"amount"}):
            cols = selectors.board_columns(user=admin, pipeline=pipeline, deals=deals)
            cards = [c for col in cols for c in col.cards]
            if hidden:
                from svyaz.accounts.models import Role

                role = Role.objects.create(
                    code="no_amount", name="No amount", grants={"deals": {"view": "own"}},
                    field_rules={"deals": {"amount": "hidden"}},
                )  # fmt: skip
                manager.roles.set([role])
                manager.__dict__.pop("_svyaz_access", None)
            from svyaz.sales.views import _board_cards

            _board_cards(request, cards)
            models = {d.pk: d for d in Deal.objects.select_related("contact", "company", "owner")}
            for card in cards:
                models[card.pk].days_in_stage = card.days_in_stage
            old = _old_cards(manager, [models[c.pk] for c in cards], hidden)
            assert [str(c.html) for c in cards] == old
            assert len(cards) == len(made)
            joined = "".join(old)
            assert " locked" in joined and "—" in joined and "x&lt;y&gt;" in joined


def _std_widget(widget):
    if isinstance(widget, forms.Select):
        std = forms.Select(attrs=widget.attrs)
        std.choices = widget.choices
        return std
    return forms.DateInput(attrs={**widget.attrs, "type": widget.input_type})


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"owner": "", "tag": ""},
        {"owner": "OWNER", "tag": "TAG", "created_from": "2026-01-31", "close_to": "2026-12-01"},
        {"owner": "999999", "created_from": "not a date", "close_from": "<b>"},
    ],
)
def test_filter_inputs_are_djangos_markup(manager, data):
    tag = Tag.objects.create(name='VIP <"&>')
    UserFactory(username="z", first_name="Ян <b>", last_name="&")
    data = {k: str(manager.pk) if v == "OWNER" else str(tag.pk) if v == "TAG" else v
            for k, v in data.items()}  # fmt: skip
    request = RequestFactory().get("/")
    request.user = manager
    fs = BoardFilter(data or None, queryset=Deal.objects.all(), request=request)
    if fs.is_bound:
        fs.is_valid()
    for field in fs.form:
        fast = add_class(field, "form-control-sm")
        css = "form-select" if isinstance(field.field.widget, forms.Select) else "form-control"
        css += " form-control-sm" + (" is-invalid" if field.errors else "")
        std = field.as_widget(widget=_std_widget(field.field.widget), attrs={"class": css})
        assert _squash(fast) == _squash(std), field.name  # the same but for line breaks
