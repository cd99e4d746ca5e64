"""Pages for contacts and companies: lists, cards, create/edit forms. Thin: selectors
read, services write, forms show the services' field errors."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from svyaz.accounts.roles import entity_of_model
from svyaz.contacts import selectors, services
from svyaz.contacts.forms import CompanyForm, ContactForm
from svyaz.contacts.lists import company_list_spec, contact_list_spec
from svyaz.core.lists import list_view
from svyaz.core.scoping import hidden_fields, require
from svyaz.core.services import require_on
from svyaz.core.views import date_texts, show_value, timeline_context


@login_required
def contact_list(request):
    return list_view(request, contact_list_spec)


@login_required
def company_list(request):
    return list_view(request, company_list_spec)


def _card_context(request, obj, **subject) -> dict:
    """What both cards show besides the record itself. `obj` comes from contact_card /
    company_card: scoped (so the timeline skips its scope check), with its relations,
    custom field definitions and related deals, orders and tasks already read."""
    summary = selectors.client_summary(obj)
    return {
        "summary": summary,
        "status": summary.status if summary else "lead",
        "status_label": summary.get_status_display() if summary else _("Lead"),
        "base_currency": settings.SVYAZ_BASE_CURRENCY,
        "custom_values": selectors.custom_values_display(
            obj,
            obj._meta.model_name,
            hidden=hidden_fields(request.user, entity_of_model(type(obj))),
            fields=obj.card_custom_fields,
        ),
        **_related_html(request.user, obj.card_related),
        **timeline_context(request, visible=True, **subject),
    }


def _related_html(user, related: dict) -> dict:
    """The rows of the card's deals, orders and open tasks blocks (`<li>` each) from
    card_relations' tuples, as the template's loops made them from client_related's
    records (60 rows with `{% url %}` and filters were a quarter of the card's
    rendering); each value escaped and localized as `{{ }}` does. The lists stay in the
    context for the "none yet" lines."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from django.utils.safestring import mark_safe

    from svyaz.core.field_rules import rules_for
    from svyaz.core.templatetags.svyaz import money
    from svyaz.core.timeline import from_raw
    from svyaz.followups.models import Followup
    from svyaz.sales.models import Order

    show = show_value

    def url(name: str):
        head, _zero, tail = reverse(name, args=[0]).rpartition("0")
        return lambda pk: show(f"{head}{pk}{tail}")

    def day(value, fmt: str) -> str:  # `{{ value|date:fmt }}`
        return date_texts(value, fmt)[0]

    deals, orders, tasks = related["deals"], related["orders"], related["open_tasks"]
    out = {**related, "deals_html": "", "orders_html": "", "open_tasks_html": ""}
    if deals:
        deal_url = url("sales:deal_detail")
        amounts = "amount" not in rules_for(user, "deals")[0]
        out["deals_html"] = mark_safe(  # noqa: S308 - every value is escaped
            "".join(
                '<li class="list-group-item d-flex justify-content-between">'
                f'<a href="{deal_url(pk)}">{show(title)}</a><span>'
                f'<span class="badge text-bg-light border">{show(stage)}</span>'
                f"{f' {show(money(amount, currency))}' if amounts else ''}</span></li>"
                for pk, title, stage, amount, currency in deals
            )
        )
    if orders:
        order_url = url("sales:order_detail")
        amounts = "amount" not in rules_for(user, "orders")[0]
        order = from_raw(Order, ("id", "number"))
        out["orders_html"] = mark_safe(  # noqa: S308 - every value is escaped
            "".join(
                '<li class="list-group-item d-flex justify-content-between">'
                f'<a href="{order_url(pk)}">'
                f"{show(order((pk, number)))}</a>"
                f"<span>{day(ordered_at, 'SHORT_DATE_FORMAT')}"
                f"{f' · {show(money(amount, currency))}' if amounts else ''}</span></li>"
                for pk, number, ordered_at, amount, currency in orders
            )
        )
    if tasks:
        user_of = from_raw(get_user_model(), ("id", "first_name", "last_name", "username"))
        task_of = from_raw(Followup, ("id", "due_at", "status"))
        rows = []
        for pk, title, due_at, status, *assignee in tasks:
            task = task_of((pk, due_at, status))
            rows.append(
                '<li class="list-group-item d-flex justify-content-between">'
                f"<span>{show(title)}</span>"
                f'<span class="{"overdue" if task.is_overdue else ""}">'
                f"{day(due_at, 'SHORT_DATETIME_FORMAT')} · "
                f"{show(user_of(assignee))}</span></li>"
            )
        out["open_tasks_html"] = mark_safe("".join(rows))  # noqa: S308 - escaped above
    return out


@login_required
def contact_detail(request, pk: int):
    contact = selectors.contact_card(user=request.user, pk=pk)
    context = {
        "contact": contact,
        "subject_param": f"contact={contact.pk}",
        **_card_context(request, contact, contact=contact),
    }
    return render(request, "contacts/contact_detail.html", context)


@login_required
def company_detail(request, pk: int):
    company = selectors.company_card(user=request.user, pk=pk)
    context = {
        "company": company,
        "subject_param": f"company={company.pk}",
        **_card_context(request, company, company=company),
    }
    return render(request, "contacts/company_detail.html", context)


def _duplicates(form, kind: str, exclude_pk=None):
    data = form.service_data()  # without the fields the user's roles do not let them write
    phones, emails = data.get("phones", []), data.get("emails", [])
    if kind == "contact":
        qs = services.contact_find_duplicates(phones=phones, emails=emails)
    else:
        qs = services.company_find_duplicates(
            name=data["name"], inn=data.get("inn", ""), phones=phones, emails=emails
        )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs[:10])


def _client_form(request, *, kind: str, instance=None):
    form_class = ContactForm if kind == "contact" else CompanyForm
    extra = {"companies": selectors.company_list(user=request.user)} if kind == "contact" else {}
    duplicates = []
    if request.method == "POST":
        form = form_class(request.POST, instance=instance, user=request.user, **extra)
        if form.is_valid():
            if not form.cleaned_data.get("save_anyway"):
                duplicates = _duplicates(form, kind, exclude_pk=getattr(instance, "pk", None))
            if not duplicates:
                try:
                    obj = _save(request, kind, form, instance)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, _("Saved."))
                    return redirect(f"contacts:{kind}_detail", obj.pk)
            else:
                # Show the checkbox on the next render.
                data = request.POST.copy()
                data["duplicates_shown"] = "1"
                form = form_class(data, instance=instance, user=request.user, **extra)
                form.is_valid()
    else:
        form = form_class(instance=instance, user=request.user, **extra)
    visible = (
        {
            d.pk
            for d in selectors.contact_list(user=request.user).filter(
                pk__in=[d.pk for d in duplicates]
            )
        }
        if kind == "contact"
        else {
            d.pk
            for d in selectors.company_list(user=request.user).filter(
                pk__in=[d.pk for d in duplicates]
            )
        }
    )
    return render(
        request,
        "contacts/client_form.html",
        {
            "form": form,
            "kind": kind,
            "instance": instance,
            "duplicates": [(d, d.pk in visible) for d in duplicates],
        },
    )


def _save(request, kind: str, form, instance):
    data = form.service_data()
    if kind == "contact":
        company, role = form.cleaned_data.get("company"), form.cleaned_data.get("role", "")
        if instance is None:
            return services.contact_create(actor=request.user, company=company, role=role, **data)
        contact = services.contact_update(actor=request.user, contact=instance, data=data)
        if company is not None:
            services.contact_link_company(
                actor=request.user, contact=contact, company=company, role=role
            )
        return contact
    if instance is None:
        return services.company_create(actor=request.user, **data)
    return services.company_update(actor=request.user, company=instance, data=data)


@login_required
def contact_create(request):
    require(request.user, "contacts", "create")
    return _client_form(request, kind="contact")


@login_required
def contact_edit(request, pk: int):
    contact = selectors.contact_get(user=request.user, pk=pk)
    require_on(request.user, "edit", contact)  # visible but not editable: 403, also for GET
    return _client_form(request, kind="contact", instance=contact)


@login_required
def company_create(request):
    require(request.user, "companies", "create")
    return _client_form(request, kind="company")


@login_required
def company_edit(request, pk: int):
    company = selectors.company_get(user=request.user, pk=pk)
    require_on(request.user, "edit", company)  # visible but not editable: 403, also for GET
    return _client_form(request, kind="company", instance=company)
