"""Field-level rules at the edges (issue #3): a role may hide a field or make it read-only.

core.scoping says which fields are ruled for a user (`hidden_fields`, `readonly_fields`:
a field is ruled only if every role of the user rules it; superusers see everything).
The services stay as they are (jobs and automations use them); every edge applies the
rules here, in one shape per kind of edge:

- API: `FieldRulesSerializerMixin` on a serializer of business records. Hidden fields
  are absent from its fields (so from responses and from the OpenAPI schema), read-only
  ones become read_only, and the `custom` dict loses hidden `cf_` keys. A write that
  names a hidden or read-only field (or custom key) is a 400 with "You may not change
  this field." against it, before anything is written.
  The schema generator (core.api_schema.FieldRulesSchemaGenerator, SPECTACULAR_SETTINGS)
  lends the schema request's user to serializers drf-spectacular builds without a context.
  `FieldRulesOrderingFilter` (DEFAULT_FILTER_BACKENDS) and `FieldRulesFilterSetMixin`
  (django-filter) neither sort nor filter by a hidden field.
- Pages: `FieldRulesFormMixin` on a business form (it takes `user=`): hidden fields are
  removed, read-only ones disabled (Django ignores what is posted for them), and the
  form's `service_data()` leaves both out, so the service keeps the stored values.
  Templates get `hidden` and `readonly` (core.context_processors): `{% if "amount" not in
  hidden.deals %}`. Lists drop the columns of hidden fields (core.lists.Column.field), on
  the page and in CSV/XLSX exports.
- Timeline: `mask_timeline` (core.views.timeline_context) shows "(hidden)" for the old
  and new values of a hidden field. Global search leaves hidden hints out.
- Import: dataquality refuses a mapping onto a field the importing user may not write.

Rule names are the entity's field names (accounts.roles.RULABLE_FIELDS) and `cf_<code>`
for custom fields. A serializer or form field whose name differs from the ruled field
names it in `field_rule_sources` (e.g. a deal line's `price` follows the deal's `amount`).
"""

from __future__ import annotations

import functools
from contextvars import ContextVar
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.filters import OrderingFilter

from svyaz.accounts.roles import CUSTOM_FIELD_ENTITY, RULABLE_FIELDS, entity_of_model
from svyaz.core.scoping import hidden_fields, readonly_fields

REFUSED = _("You may not change this field.")
CF_PREFIX = "cf_"

# The user whose schema drf-spectacular is building (it instantiates serializers named in
# @extend_schema without a context, so they cannot see the request).
schema_user: ContextVar[Any] = ContextVar("svyaz_field_rules_schema_user", default=None)


def rules_for(user, entity: str | None) -> tuple[set[str], set[str]]:
    """(hidden, not writable) rule names of `entity` for `user`; not writable includes
    the hidden ones. No user (jobs, the system) or no entity: nothing is ruled."""
    if user is None or not entity:
        return set(), set()
    return hidden_fields(user, entity), readonly_fields(user, entity)


def entity_for_custom(custom_entity: str) -> str | None:
    """accounts entity of a custom-field entity code ("deal" → "deals")."""
    for entity, code in CUSTOM_FIELD_ENTITY.items():
        if code == custom_entity:
            return str(entity)
    return None


def entity_for_model_name(model_name: str) -> str | None:
    """accounts entity of a model name ("deal" → "deals"), as list specs, timeline rows
    and audit rows name their records."""
    from svyaz.accounts.roles import MODEL_ENTITY

    for label, entity in MODEL_ENTITY.items():
        if label.split(".", 1)[1] == model_name:
            return str(entity)
    return None


def without_hidden_custom(values: dict | None, hidden: set[str]) -> dict:
    """A record's custom values without the hidden `cf_` ones."""
    values = values or {}
    if not hidden:
        return dict(values)
    return {k: v for k, v in values.items() if f"{CF_PREFIX}{k}" not in hidden}


class _EntityRules:
    """Per-entity sets for templates: `hidden.deals` is the set of hidden field names
    of deals for the current user (computed on first use)."""

    def __init__(self, user, readonly: bool = False):
        self._user = user
        self._readonly = readonly
        self._cache: dict[str, frozenset[str]] = {}

    def __getitem__(self, entity: str) -> frozenset[str]:
        if entity not in self._cache:
            if entity not in RULABLE_FIELDS:
                raise KeyError(entity)
            hidden, locked = rules_for(self._user, entity)
            self._cache[entity] = frozenset(locked if self._readonly else hidden)
        return self._cache[entity]

    def __contains__(self, entity: str) -> bool:
        return entity in RULABLE_FIELDS


def template_context(user) -> dict[str, _EntityRules]:
    return {"hidden": _EntityRules(user), "readonly": _EntityRules(user, readonly=True)}


HIDDEN_VALUE = _("(hidden)")


def mask_timeline(user, entries) -> list:
    """Timeline rows as `user` may see them: the old and new values of a hidden field
    become "(hidden)" (the label stays: that it changed is not secret), and the texts
    that quote a hidden field lose it (an order's amount in its title, an activity's
    text, a task's result, a lost deal's comment). Changes the instances in memory only."""
    entries = list(entries)
    per_entity: dict[str | None, set[str]] = {}
    for entry in entries:
        model_name = getattr(entry, "object_type", "") or ""
        if model_name not in per_entity:
            per_entity[model_name] = rules_for(user, entity_for_model_name(model_name))[0]
        hidden = per_entity[model_name]
        if not hidden:
            continue
        data = entry.data if isinstance(entry.data, dict) else {}
        any_custom = any(h.startswith(CF_PREFIX) for h in hidden)
        for change in data.get("changes") or []:
            name = change.get("field", "")
            if name in hidden or (name == "custom" and any_custom):
                change["old"] = change["new"] = str(HIDDEN_VALUE)
        if model_name == "order" and "amount" in hidden and entry.kind == "order":
            entry.title = str(entry.title).split(":", 1)[0]  # "Order S-000001: 100.00 RUB"
        elif model_name == "deal" and "lost_comment" in hidden and entry.kind == "stage":
            entry.body = str(entry.body).split(":", 1)[0]  # "<lost reason>: <comment>"
        elif (model_name == "activity" and "body" in hidden) or (
            model_name == "followup" and "result" in hidden
        ):
            entry.body = ""
    return entries


# Import field keys that name a ruled field differently (the rest use the field's name).
_IMPORT_RULE_NAMES = {
    "contacts": {"phone": "phones", "email": "emails"},
    "companies": {"phone": "phones", "email": "emails"},
}


def import_mapping_errors(
    user, import_entity: str, fields: dict[str, Any], keys, *, match_only: str = ""
) -> list[str]:
    """Messages for the mapped import `keys` the importing user may not write: hidden or
    read-only fields. `fields` maps keys to dataquality ImportFields (for the labels);
    `match_only` names a key used only to find existing records (update mode): reading
    it is enough unless it is hidden."""
    from django.utils.translation import gettext

    entity = entity_for_model_name(import_entity)
    hidden, locked = rules_for(user, entity)
    if not locked:
        return []
    renames = _IMPORT_RULE_NAMES.get(entity or "", {})
    errors = []
    for key in dict.fromkeys(keys):
        rule = renames.get(key, key)
        if rule in hidden or (rule in locked and key != match_only):
            label = getattr(fields.get(key), "label", key)
            errors.append(
                gettext("You may not change “%(field)s”: your role does not allow it.")
                % {"field": label}
            )
    return errors


# --- API --------------------------------------------------------------------------------


class FieldRulesSerializerMixin:
    """Put first among the bases of a serializer of business records.

    The entity comes from `field_rules_entity`, else from Meta.model; the user from the
    context's request (or the schema request, see FieldRulesSchemaGenerator). Without a
    user nothing is ruled (internal use)."""

    field_rules_entity: str = ""
    field_rule_sources: dict[str, str] = {}

    def _rules_entity(self) -> str | None:
        if self.field_rules_entity:
            return self.field_rules_entity
        model = getattr(getattr(self, "Meta", None), "model", None)
        return entity_of_model(model) if model is not None else None

    def _rules_user(self):
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return user if user is not None else schema_user.get()

    def field_rules(self) -> tuple[set[str], set[str]]:
        cached = self.__dict__.get("_field_rules")
        if cached is None:
            cached = rules_for(self._rules_user(), self._rules_entity())
            self.__dict__["_field_rules"] = cached
        return cached

    def _rule_name(self, name: str) -> str:
        return self.field_rule_sources.get(name, name)

    def get_fields(self):
        fields = super().get_fields()
        hidden, locked = self.field_rules()
        if not locked:
            return fields
        for name in list(fields):
            rule = self._rule_name(name)
            if rule in hidden:
                del fields[name]
            elif rule in locked:
                fields[name].read_only = True
                fields[name].required = False
        return fields

    def refused_fields(self, data) -> dict[str, list]:
        """Errors for each ruled field (or custom key) that `data` tries to write."""
        _hidden, locked = self.field_rules()
        if not locked or not hasattr(data, "keys"):
            return {}
        errors: dict[str, list] = {}
        for name in data:
            if self._rule_name(name) in locked:
                errors[name] = [REFUSED]
        custom = data.get("custom") if "custom" not in errors else None
        if isinstance(custom, dict):
            for code in custom:
                if f"{CF_PREFIX}{code}" in locked:
                    errors[f"custom.{code}"] = [REFUSED]
        return errors

    def to_internal_value(self, data):
        errors = self.refused_fields(data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def to_representation(self, instance):
        ret = super().to_representation(instance)
        hidden, _locked = self.field_rules()
        if hidden and isinstance(ret.get("custom"), dict):
            ret["custom"] = without_hidden_custom(ret["custom"], hidden)
        return ret


class FieldRulesOrderingFilter(OrderingFilter):
    """?ordering= never sorts by a field hidden from the user (the order would reveal
    it): such terms are ignored like any unknown one."""

    def get_valid_fields(self, queryset, view, context=None):
        valid = super().get_valid_fields(queryset, view, context or {})
        request = getattr(view, "request", None)
        model = getattr(queryset, "model", None)
        entity = entity_of_model(model) if model is not None else None
        hidden = rules_for(getattr(request, "user", None), entity)[0]
        if not hidden:
            return valid
        return [(name, label) for name, label in valid if name.split("__")[0] not in hidden]


class FieldRulesFilterSetMixin:
    """For django-filter FilterSets of business records (built with `request=`): filters
    on a field hidden from the user are dropped (a range filter would reveal the value),
    so their parameters are ignored and their inputs are not shown."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        model = getattr(getattr(self, "_meta", None), "model", None)
        entity = entity_of_model(model) if model is not None else None
        hidden = rules_for(getattr(self.request, "user", None), entity)[0]
        if hidden:
            for name in list(self.filters):
                field_name = str(getattr(self.filters[name], "field_name", "") or name)
                if field_name.split("__")[0] in hidden or name in hidden:
                    del self.filters[name]


# --- forms ------------------------------------------------------------------------------


def _run_then_apply(init):
    """Wrap a form class's __init__ so the rules apply once, after the outermost
    __init__ has finished (subclasses set up their fields after calling super())."""

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        outermost = not self.__dict__.get("_field_rules_initializing", False)
        if outermost:
            self._field_rules_initializing = True
            if kwargs.get("user") is not None:
                self.field_rules_user = kwargs["user"]
        try:
            init(self, *args, **kwargs)
        finally:
            if outermost:
                self._field_rules_initializing = False
        if outermost:
            self.apply_field_rules()

    __init__._field_rules_wrapped = True  # type: ignore[attr-defined]
    return __init__


def _then_strip(service_data):
    """Wrap a form's service_data() so ruled fields never reach the service."""

    @functools.wraps(service_data)
    def wrapped(self, *args, **kwargs):
        return self.strip_ruled(service_data(self, *args, **kwargs))

    wrapped._field_rules_wrapped = True  # type: ignore[attr-defined]
    return wrapped


class FieldRulesFormMixin:
    """Put first among the bases of a business form; construct it with `user=`.

    After the form's own __init__: fields whose rule is "hidden" are removed, read-only
    ones disabled (custom fields `custom_<code>` follow `cf_<code>`); `service_data()`
    (when the form has one) leaves every ruled field out. The entity comes from
    `field_rules_entity`, else Meta.model, else `custom_entity`."""

    field_rules_entity: str = ""
    field_rule_sources: dict[str, str] = {}
    field_rules_user = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_field_rules_wrapped", False):
            cls.__init__ = _run_then_apply(init)
        data = cls.__dict__.get("service_data")
        if data is not None and not getattr(data, "_field_rules_wrapped", False):
            cls.service_data = _then_strip(data)

    def __init__(self, *args, user=None, **kwargs):
        # Forms that take no `user` themselves: it stops here.
        if user is not None:
            self.field_rules_user = user
        super().__init__(*args, **kwargs)

    def field_rules_entity_name(self) -> str | None:
        if self.field_rules_entity:
            return self.field_rules_entity
        model = getattr(getattr(self, "Meta", None), "model", None)
        if model is not None and entity_of_model(model):
            return entity_of_model(model)
        return entity_for_custom(getattr(self, "custom_entity", ""))

    def rule_name(self, name: str) -> str:
        if name in self.field_rule_sources:
            return self.field_rule_sources[name]
        if name.startswith("custom_"):
            return CF_PREFIX + name[len("custom_") :]
        return name

    def apply_field_rules(self) -> None:
        hidden, locked = rules_for(self.field_rules_user, self.field_rules_entity_name())
        self.ruled_hidden, self.ruled_locked = hidden, locked
        if not locked:
            return
        instance = getattr(self, "instance", None)
        current = getattr(instance, "custom", None) or {}
        for name in list(self.fields):
            rule = self.rule_name(name)
            if rule in hidden:
                del self.fields[name]
            elif rule in locked:
                field = self.fields[name]
                field.disabled = True
                field.required = False
                if rule.startswith(CF_PREFIX) and rule[len(CF_PREFIX) :] in current:
                    field.initial = current[rule[len(CF_PREFIX) :]]
        if hasattr(self, "custom_defs"):  # core.custom_fields.CustomFieldsFormMixin
            self.custom_defs = [d for d in self.custom_defs if CF_PREFIX + d.code not in locked]

    def strip_ruled(self, data: dict) -> dict:
        """`data` for a service without the fields this user may not write."""
        locked = getattr(self, "ruled_locked", set())
        if not locked:
            return data
        out = {k: v for k, v in data.items() if k not in locked}
        if isinstance(out.get("custom"), dict):
            out["custom"] = {
                k: v for k, v in out["custom"].items() if f"{CF_PREFIX}{k}" not in locked
            }
        return out


FieldRulesFormMixin.__init__ = _run_then_apply(FieldRulesFormMixin.__init__)  # type: ignore[method-assign]
