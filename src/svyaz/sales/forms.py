"""Forms of the sales pages. They validate shape; the services validate meaning and
their ValidationErrors land on the fields through add_service_errors."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from svyaz.core.custom_fields import CustomFieldsFormMixin
from svyaz.core.field_rules import FieldRulesFormMixin
from svyaz.core.forms import StyledForm, StyledFormMixin
from svyaz.core.models import Tag
from svyaz.sales import selectors
from svyaz.sales.models import (
    Deal,
    Lead,
    LostReason,
    Order,
    OrderStatus,
    Pipeline,
    PriceList,
    Product,
    Stage,
    StageKind,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _currency_choices():
    return [(c, c) for c in settings.SVYAZ_CURRENCIES]


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name")


class ServiceErrorsMixin:
    def add_service_errors(self, exc) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errs in exc.message_dict.items():
            name = key.replace("custom.", "custom_") if key.startswith("custom.") else key
            if name not in self.fields:
                name = None
            for e in errs:
                self.add_error(name, e)


class LeadForm(
    FieldRulesFormMixin, ServiceErrorsMixin, CustomFieldsFormMixin, StyledFormMixin, forms.ModelForm
):
    custom_entity = "lead"
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Comma-separated."))

    class Meta:
        model = Lead
        fields = [
            "title",
            "first_name",
            "last_name",
            "phone",
            "email",
            "company_name",
            "company_inn",
            "source",
            "channel",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "owner",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _users()
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(t.name for t in self.instance.tags.all())

    def _post_clean(self):  # the services validate the model, not the ModelForm
        pass

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in self.Meta.fields if k in self.fields}
        data["tags"] = [
            t.strip() for t in (self.cleaned_data.get("tags") or "").split(",") if t.strip()
        ]
        data["custom"] = self.custom_values()
        return data


class LeadConvertForm(FieldRulesFormMixin, StyledForm):
    field_rules_entity = "deals"  # the amount is the new deal's

    create_deal = forms.BooleanField(label=_("Create a deal"), required=False, initial=True)
    deal_title = forms.CharField(label=_("Deal title"), max_length=255, required=False)
    pipeline = forms.ModelChoiceField(
        label=_("Pipeline"), queryset=Pipeline.objects.all(), required=False
    )
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=0, max_digits=16, decimal_places=2
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices, required=False)


class DealForm(
    FieldRulesFormMixin, ServiceErrorsMixin, CustomFieldsFormMixin, StyledFormMixin, forms.ModelForm
):
    custom_entity = "deal"
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"), queryset=Tag.objects.all(), required=False
    )

    class Meta:
        model = Deal
        fields = [
            "title",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "expected_close",
            "probability",
            "contact",
            "company",
            "price_list",
            "owner",
        ]
        widgets = {"expected_close": DATE}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = selectors.contacts_for(user=user)
        self.fields["company"].queryset = selectors.companies_for(user=user)
        self.fields["owner"].queryset = _users()
        self.fields["stage"].queryset = Stage.objects.filter(kind=StageKind.OPEN).select_related(
            "pipeline"
        )
        self.fields["stage"].required = False
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline} · {s.name}"
        self.fields["amount"].required = False
        if self.instance.pk:
            del self.fields["pipeline"]
            del self.fields["stage"]
            if not self.is_bound:
                self.initial["tags"] = list(self.instance.tags.all())

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in self.Meta.fields if k in self.fields}
        data["tags"] = list(self.cleaned_data.get("tags") or [])
        data["custom"] = self.custom_values()
        return data


class DealLineForm(FieldRulesFormMixin, StyledForm):
    # A line's money makes up the deal's amount: it follows the amount's rule.
    field_rules_entity = "deals"
    field_rule_sources = {"price": "amount", "discount_percent": "amount"}

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True), required=False
    )
    name = forms.CharField(label=_("Name"), max_length=255, required=False)
    quantity = forms.DecimalField(label=_("Quantity"), initial=1, max_digits=12, decimal_places=3)
    price = forms.DecimalField(
        label=_("Price"),
        required=False,
        max_digits=16,
        decimal_places=2,
        help_text=_("Empty: the price list price."),
    )
    discount_percent = forms.DecimalField(
        label=_("Discount, %"), initial=0, required=False, max_digits=5, decimal_places=2
    )


class StageMoveForm(FieldRulesFormMixin, forms.Form):
    field_rules_entity = "deals"

    stage = forms.ModelChoiceField(queryset=Stage.objects.select_related("pipeline"))
    lost_reason = forms.ModelChoiceField(queryset=LostReason.objects.all(), required=False)
    lost_comment = forms.CharField(max_length=500, required=False)


class OrderForm(
    FieldRulesFormMixin, ServiceErrorsMixin, CustomFieldsFormMixin, StyledFormMixin, forms.ModelForm
):
    custom_entity = "order"
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)

    class Meta:
        model = Order
        fields = [
            "contact",
            "company",
            "ordered_at",
            "amount",
            "currency",
            "status",
            "number",
            "owner",
        ]
        widgets = {"ordered_at": DATETIME}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = selectors.contacts_for(user=user)
        self.fields["company"].queryset = selectors.companies_for(user=user)
        self.fields["owner"].queryset = _users()
        self.fields["amount"].required = False
        self.fields["amount"].help_text = _("Empty: the sum of the lines.")
        self.fields["status"].initial = OrderStatus.NEW
        self.fields["ordered_at"].required = False

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in self.Meta.fields if k in self.fields}
        data["custom"] = self.custom_values()
        return data


class OrderLineForm(FieldRulesFormMixin, StyledForm):
    # A line's money makes up the order's amount: it follows the amount's rule.
    field_rules_entity = "orders"
    field_rule_sources = {"price": "amount"}

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True), required=False
    )
    name = forms.CharField(label=_("Name"), max_length=255, required=False)
    quantity = forms.DecimalField(
        label=_("Quantity"), required=False, max_digits=12, decimal_places=3
    )
    price = forms.DecimalField(label=_("Price"), required=False, max_digits=16, decimal_places=2)

    def has_content(self) -> bool:
        d = getattr(self, "cleaned_data", {}) or {}
        return bool(d.get("product") or d.get("name") or d.get("price"))


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=3, max_num=50)


class ProductForm(FieldRulesFormMixin, StyledFormMixin, forms.ModelForm):
    currency = forms.ChoiceField(label=_("Currency"), choices=_currency_choices)

    class Meta:
        model = Product
        fields = ["name", "sku", "unit", "price", "currency", "is_active", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def _post_clean(self):
        pass

    def service_data(self) -> dict:
        return {k: self.cleaned_data[k] for k in self.Meta.fields if k in self.fields}

    def add_service_errors(self, exc) -> None:
        ServiceErrorsMixin.add_service_errors(self, exc)


__all__ = [
    "DealForm",
    "DealLineForm",
    "LeadConvertForm",
    "LeadForm",
    "OrderForm",
    "OrderLineFormSet",
    "PriceList",
    "ProductForm",
    "StageMoveForm",
]
