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
from svyaz.core.views import timeline_context


@login_required
def contact_list(request):
    return list_view(request, contact_list_spec)


@login_required
def company_list(request):
    return list_view(request, company_list_spec)


def _card_context(request, obj, **subject) -> dict:
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
        ),
        **selectors.client_related(user=request.user, **subject),
        **timeline_context(request, **subject),
    }


@login_required
def contact_detail(request, pk: int):
    contact = selectors.contact_get(user=request.user, pk=pk)
    context = {
        "contact": contact,
        "subject_param": f"contact={contact.pk}",
        **_card_context(request, contact, contact=contact),
    }
    return render(request, "contacts/contact_detail.html", context)


@login_required
def company_detail(request, pk: int):
    company = selectors.company_get(user=request.user, pk=pk)
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
