"""Which models the audit follows, and which of their fields.

Every subclass of core.OwnedModel (found through apps.get_models(), so a new business
model is followed without a change here) plus the models below. Of each model: its
concrete, editable fields except the primary key; `deleted_at` is followed as the delete /
restore action, never as a field. Not followed: non-editable fields (updated_at and other
auto timestamps, Contact.full_name, Followup.reminded_at…), derived data (ClientSummary,
DealStageChange, the timeline), phones/emails/addresses (recorded on their contact or
company as the fields "phones"/"emails" by the contact services), technical rows (jobs,
imports, notifications, call events, submissions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import models

# Besides every OwnedModel subclass. A label that does not exist (yet) is skipped.
EXTRA_MODELS = (
    "sales.DealLine",
    "sales.OrderLine",
    "sales.Product",
    "sales.PriceList",
    "sales.PriceListItem",
    "sales.Pipeline",
    "sales.Stage",
    "sales.LostReason",
    "contacts.ContactCompany",
    "core.CustomField",
    "core.Tag",
    "accounts.Department",
    "accounts.User",
    "accounts.Role",
    "intake.RoutingGroup",
    "intake.RoutingMember",
    "intake.ResponseSla",
    "intake.WebForm",
    "intake.TelephonyProvider",
)

# Fields not followed although editable: derived or bookkeeping values.
SKIP_FIELDS: dict[str, set[str]] = {
    "sales.deal": {"stage_changed_at"},  # moves with `stage`, which is recorded
    "accounts.user": {"last_login", "date_joined"},
}

# Fields whose values are never written down: the row says that they changed, not to what.
MASKED_FIELDS: dict[str, set[str]] = {
    "accounts.user": {"password"},
    "intake.telephonyprovider": {"secret"},
}
MASK = "***"

# Many-to-many fields followed as one field of the record (the names, sorted).
SKIP_M2M: dict[str, set[str]] = {"accounts.user": {"user_permissions"}}


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    label: str
    fields: tuple[models.Field, ...]
    masked: frozenset[str]
    soft_delete: bool
    m2m: tuple[models.ManyToManyField, ...] = ()
    by_name: dict[str, models.Field] = field(default_factory=dict, compare=False)

    def attnames(self, update_fields=None) -> list[str]:
        """The columns to read before a save (all followed ones, or those being saved)."""
        wanted = None if update_fields is None else set(update_fields)
        names = [
            f.attname
            for f in self.fields
            if wanted is None or f.name in wanted or f.attname in wanted
        ]
        if self.soft_delete and (wanted is None or "deleted_at" in wanted):
            names.append("deleted_at")
        return names


def _followed_fields(model, label: str) -> tuple[models.Field, ...]:
    skip = SKIP_FIELDS.get(label, set())
    out = []
    for f in model._meta.concrete_fields:
        if f.primary_key or not f.editable or f.name in skip or f.name == "deleted_at":
            continue
        out.append(f)
    return tuple(out)


def build() -> dict[type[models.Model], Tracked]:
    from svyaz.core.models import OwnedModel

    chosen: list[type[models.Model]] = [
        m for m in apps.get_models() if issubclass(m, OwnedModel) and not m._meta.proxy
    ]
    for label in EXTRA_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if model not in chosen:
            chosen.append(model)
    out = {}
    for model in chosen:
        label = model._meta.label_lower
        fields = _followed_fields(model, label)
        m2m = tuple(
            f
            for f in model._meta.local_many_to_many
            if f.remote_field.through._meta.auto_created
            and f.name not in SKIP_M2M.get(label, set())
        )
        out[model] = Tracked(
            model=model,
            label=label,
            fields=fields,
            masked=frozenset(MASKED_FIELDS.get(label, set())),
            soft_delete=issubclass(model, OwnedModel),
            m2m=m2m,
            by_name={f.name: f for f in fields},
        )
    return out
