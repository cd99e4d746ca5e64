"""Forms of the company-structure settings: departments, people and roles (issue #3)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from svyaz.accounts.models import Action, Department, Entity, FieldMode, Role, Scope
from svyaz.accounts.roles import field_rule_choices
from svyaz.core.forms import StyledForm, StyledModelForm

User = get_user_model()


class DepartmentForm(StyledModelForm):
    class Meta:
        model = Department
        fields = ["name", "parent", "head", "require_2fa"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["head"].queryset = User.objects.filter(is_active=True)
        if self.instance.pk:
            inside = self.instance.subtree_ids()
            self.fields["parent"].queryset = Department.objects.exclude(pk__in=inside)

    def clean_name(self):
        name = " ".join((self.cleaned_data.get("name") or "").split())
        if not name:
            raise forms.ValidationError(_("Enter a name."))
        return name

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is not None and self.instance.pk and parent.pk in self.instance.subtree_ids():
            raise forms.ValidationError(_("A department cannot be inside itself."))
        return parent


class UserAccessForm(StyledModelForm):
    """What an administrator sets for a person: department, roles, active."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "department", "roles", "is_active"]
        widgets = {"roles": forms.CheckboxSelectMultiple}

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["email"].required = True

    def clean_is_active(self):
        active = self.cleaned_data.get("is_active")
        if not active and self.actor is not None and self.instance.pk == self.actor.pk:
            raise forms.ValidationError(_("You cannot deactivate yourself."))
        return active


class UserCreateForm(UserAccessForm):
    class Meta(UserAccessForm.Meta):
        fields = ["username", *UserAccessForm.Meta.fields]


class RoleForm(StyledForm):
    """A role as a matrix: a scope per entity × action, and a mode per rulable field."""

    name = forms.CharField(label=_("Name"), max_length=128)
    code = forms.SlugField(label=_("Code"), max_length=64)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    require_2fa = forms.BooleanField(label=_("Require two-factor authentication"), required=False)

    def __init__(self, *args, instance: Role | None = None, **kwargs):
        self.instance = instance or Role()
        initial = kwargs.pop("initial", None) or {}
        if instance is not None and instance.pk:
            initial.update(
                name=instance.name,
                code=instance.code,
                description=instance.description,
                require_2fa=instance.require_2fa,
            )
        grants = self.instance.grants or {}
        rules = self.instance.field_rules or {}
        for entity in Entity:
            for action in Action:
                initial[self.grant_key(entity, action)] = (grants.get(entity.value) or {}).get(
                    action.value, Scope.NONE
                )
        super().__init__(*args, initial=initial, **kwargs)
        scope_choices = [(s.value, s.label) for s in Scope]
        self.matrix = []
        for entity in Entity:
            row = []
            for action in Action:
                key = self.grant_key(entity, action)
                self.fields[key] = forms.ChoiceField(
                    choices=scope_choices,
                    required=True,
                    label=f"{entity.label}: {action.label}",
                    widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
                )
                row.append(key)
            self.matrix.append((entity, row))
        mode_choices = [("", _("Visible")), *[(m.value, m.label) for m in FieldMode]]
        self.rule_rows = []
        for entity in Entity:
            names = sorted(field_rule_choices(entity.value) or ())
            keys = []
            for name in names:
                key = f"rule__{entity.value}__{name}"
                self.fields[key] = forms.ChoiceField(
                    choices=mode_choices,
                    required=False,
                    label=name,
                    initial=(rules.get(entity.value) or {}).get(name, ""),
                    widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
                )
                keys.append(key)
            if keys:
                self.rule_rows.append((entity, keys))

    @staticmethod
    def grant_key(entity, action) -> str:
        return f"grant__{entity.value}__{action.value}"

    def grant_rows(self):
        return [(entity, [self[k] for k in keys]) for entity, keys in self.matrix]

    def rule_groups(self):
        return [(entity, [self[k] for k in keys]) for entity, keys in self.rule_rows]

    def clean_code(self):
        code = self.cleaned_data["code"]
        clash = Role.objects.filter(code=code).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("Another role has this code."))
        return code

    def save(self) -> Role:
        data = self.cleaned_data
        grants: dict[str, dict[str, str]] = {}
        for entity in Entity:
            for action in Action:
                scope = data[self.grant_key(entity, action)]
                if scope != Scope.NONE:
                    grants.setdefault(entity.value, {})[action.value] = scope
        rules: dict[str, dict[str, str]] = {}
        for name, value in data.items():
            if name.startswith("rule__") and value:
                _prefix, entity, field = name.split("__", 2)
                rules.setdefault(entity, {})[field] = value
        role = self.instance
        role.name = data["name"]
        role.code = data["code"]
        role.description = data["description"]
        role.require_2fa = data["require_2fa"]
        role.grants = grants
        role.field_rules = rules
        role.full_clean()
        role.save()
        return role
