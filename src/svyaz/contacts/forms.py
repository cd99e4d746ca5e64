"""Create/edit forms for contacts and companies. They collect input; the services
validate and write, and their errors land on the right fields."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from svyaz.contacts.models import AddressKind, Company, Source
from svyaz.core.custom_fields import CustomFieldsFormMixin
from svyaz.core.field_rules import FieldRulesFormMixin
from svyaz.core.forms import StyledForm

LINES_HELP = _("One per line.")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class _ClientForm(FieldRulesFormMixin, CustomFieldsFormMixin, StyledForm):
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        help_text=LINES_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "+7 916 123-45-67"}),
    )
    emails = forms.CharField(
        label=_("Emails"),
        required=False,
        help_text=LINES_HELP,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "name@example.com"}),
    )
    city = forms.CharField(label=_("City"), max_length=128, required=False)
    street = forms.CharField(label=_("Street address"), max_length=255, required=False)
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated."))
    source = forms.ChoiceField(
        label=_("Source"), choices=[("", "—"), *Source.choices], required=False
    )
    owner = forms.ModelChoiceField(
        label=_("Owner"), queryset=get_user_model().objects.none(), required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    save_anyway = forms.BooleanField(
        label=_("Save anyway: this is not a duplicate"), required=False
    )

    def __init__(self, *args, instance=None, user=None, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")
        )
        if instance is not None and not self.is_bound:
            self.initial.update(self._initial_from(instance))
        elif not self.is_bound and user is not None:
            self.initial.setdefault("owner", user.pk)
        # The duplicate checkbox appears only once duplicates were found.
        self.fields["save_anyway"].widget = (
            forms.HiddenInput()
            if not self.data.get("duplicates_shown")
            else forms.CheckboxInput(attrs={"class": "form-check-input"})
        )
        # Custom fields are added after StyledForm styled the others: style them too.
        for name, field in self.fields.items():
            if name.startswith("custom_"):
                w = field.widget
                if isinstance(w, forms.CheckboxInput | forms.CheckboxSelectMultiple):
                    w.attrs.setdefault("class", "form-check-input")
                elif isinstance(w, forms.Select):
                    w.attrs.setdefault("class", "form-select")
                else:
                    w.attrs.setdefault("class", "form-control")
        order = [n for n in self.field_order_names() if n in self.fields]
        custom = [n for n in self.fields if n.startswith("custom_")]
        self.order_fields([*order, *custom, "save_anyway"])

    def field_order_names(self) -> list[str]:
        return []

    # The services' own normalizers, so bad phones and emails show as field errors
    # before the duplicate check runs.
    def clean_phones(self) -> str:
        from svyaz.contacts.services import clean_phones

        try:
            clean_phones(_lines(self.cleaned_data.get("phones", "")))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["phones"]) from exc
        return self.cleaned_data.get("phones", "")

    def clean_emails(self) -> str:
        from svyaz.contacts.services import clean_emails

        try:
            clean_emails(self.cleaned_data.get("emails", ""))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["emails"]) from exc
        return self.cleaned_data.get("emails", "")

    def _initial_from(self, obj) -> dict:
        address = next(iter(obj.addresss.all()), None)
        return {
            "phones": "\n".join(p.number for p in obj.phones.all()),
            "emails": "\n".join(e.email for e in obj.emails.all()),
            "tags": ", ".join(t.name for t in obj.tags.all()),
            "city": address.city if address else "",
            "street": address.street if address else "",
            "source": obj.source,
            "owner": obj.owner_id,
            "description": obj.description,
        }

    def common_data(self) -> dict:
        cd = self.cleaned_data
        data = {
            "phones": _lines(cd.get("phones", "")),
            "emails": _lines(cd.get("emails", "").replace(",", "\n")),
            "tags": cd.get("tags", ""),
            "source": cd.get("source", ""),
            "description": cd.get("description", ""),
            "custom": self.custom_values(),
        }
        if cd.get("owner"):
            data["owner"] = cd["owner"]
        # The form edits one address; a record with several (from the API) keeps them.
        several = self.instance is not None and len(self.instance.addresss.all()) > 1
        if not several and (cd.get("city") or cd.get("street") or self.instance is not None):
            data["addresses"] = [
                {
                    "kind": AddressKind.ACTUAL,
                    "city": cd.get("city", ""),
                    "street": cd.get("street", ""),
                }
            ]
        return data


class ContactForm(_ClientForm):
    custom_entity = "contact"

    last_name = forms.CharField(label=_("Last name"), max_length=100, required=False)
    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    middle_name = forms.CharField(label=_("Middle name"), max_length=100, required=False)
    job_title = forms.CharField(label=_("Job title"), max_length=128, required=False)
    company = forms.ModelChoiceField(
        label=_("Company"), queryset=Company.objects.none(), required=False
    )
    role = forms.CharField(label=_("Role in the company"), max_length=128, required=False)
    birthday = forms.DateField(
        label=_("Birthday"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, companies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if companies is not None:
            self.fields["company"].queryset = companies
        if self.instance is not None and not self.is_bound:
            c = self.instance
            link = next(iter(c.memberships.all()), None)
            self.initial.update(
                {
                    "last_name": c.last_name,
                    "first_name": c.first_name,
                    "middle_name": c.middle_name,
                    "job_title": c.job_title,
                    "birthday": c.birthday,
                    "company": link.company_id if link else None,
                    "role": link.role if link else "",
                }
            )

    def field_order_names(self) -> list[str]:
        return [
            "last_name",
            "first_name",
            "middle_name",
            "phones",
            "emails",
            "company",
            "role",
            "job_title",
            "birthday",
            "city",
            "street",
            "tags",
            "source",
            "owner",
            "description",
        ]

    def clean(self):
        cd = super().clean()
        if not (cd.get("first_name") or "").strip() and not (cd.get("last_name") or "").strip():
            self.add_error("first_name", _("Enter a first or a last name."))
        return cd

    def service_data(self) -> dict:
        cd = self.cleaned_data
        data = self.common_data()
        data.update(
            {
                k: cd.get(k) or ("" if k != "birthday" else None)
                for k in ("first_name", "last_name", "middle_name", "job_title", "birthday")
            }
        )
        return data


class CompanyForm(_ClientForm):
    custom_entity = "company"

    name = forms.CharField(label=_("Name"), max_length=255)
    legal_name = forms.CharField(label=_("Legal name"), max_length=255, required=False)
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        required=False,
        initial="RU",
        help_text=_("Two-letter code, e.g. RU."),
    )
    inn = forms.CharField(label=_("INN"), max_length=12, required=False)
    kpp = forms.CharField(label=_("KPP"), max_length=9, required=False)
    tax_id = forms.CharField(
        label=_("Tax id"), max_length=32, required=False, help_text=_("Outside Russia.")
    )
    industry_code = forms.CharField(label=_("Industry code"), max_length=16, required=False)
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance is not None and not self.is_bound:
            c = self.instance
            self.initial.update(
                {
                    k: getattr(c, k)
                    for k in (
                        "name",
                        "legal_name",
                        "country",
                        "inn",
                        "kpp",
                        "tax_id",
                        "industry_code",
                        "website",
                    )
                }
            )

    def field_order_names(self) -> list[str]:
        return [
            "name",
            "legal_name",
            "inn",
            "kpp",
            "country",
            "tax_id",
            "industry_code",
            "phones",
            "emails",
            "website",
            "city",
            "street",
            "tags",
            "source",
            "owner",
            "description",
        ]

    def service_data(self) -> dict:
        cd = self.cleaned_data
        data = self.common_data()
        data.update(
            {
                k: cd.get(k) or ""
                for k in (
                    "name",
                    "legal_name",
                    "country",
                    "inn",
                    "kpp",
                    "tax_id",
                    "industry_code",
                    "website",
                )
            }
        )
        return data
