"""Settings pages of the company structure: departments (a tree, each with a head),
people (department, roles, active) and roles (the grant matrix and field rules).

Reading needs the "settings" view grant, changing needs "edit" (the Administrator role;
superusers pass) — `core.access.settings_required("auto")`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, ProtectedError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from svyaz.accounts.models import Department, Role
from svyaz.accounts.settings_forms import (
    DepartmentForm,
    RoleForm,
    UserAccessForm,
    UserCreateForm,
)
from svyaz.core.access import settings_required

User = get_user_model()


def _get(qs, pk):
    obj = qs.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


@settings_required("view")
def index(request):
    return render(request, "accounts/settings/index.html", {})


# --- departments -------------------------------------------------------------------------


def department_tree() -> list[tuple[int, Department]]:
    """(depth, department) in tree order, with head and people count, in two queries."""
    depts = list(Department.objects.select_related("head").annotate(people=Count("users")))
    children: dict[int | None, list[Department]] = {}
    for d in depts:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[int, Department]] = []

    def walk(parent, depth):
        for d in sorted(children.get(parent, []), key=lambda d: d.name.casefold()):
            out.append((depth, d))
            walk(d.pk, depth + 1)

    walk(None, 0)
    return out


@settings_required("view")
def departments(request):
    return render(request, "accounts/settings/departments.html", {"tree": department_tree()})


@settings_required("auto")
def department_edit(request, pk: int | None = None):
    dept = _get(Department.objects.all(), pk) if pk else Department()
    form = DepartmentForm(request.POST or None, instance=dept)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved: %(name)s") % {"name": form.instance})
        return redirect("settings:departments")
    return render(request, "accounts/settings/department_form.html", {"form": form, "dept": dept})


@require_POST
@settings_required("edit")
def department_delete(request, pk: int):
    dept = _get(Department.objects.all(), pk)
    try:
        dept.delete()
    except ProtectedError:
        messages.error(request, _("The department still has people, records or sub-departments."))
    else:
        messages.success(request, _("Deleted: %(name)s") % {"name": dept})
    return redirect("settings:departments")


# --- people ------------------------------------------------------------------------------


@settings_required("view")
def users(request):
    people = (
        User.objects.select_related("department")
        .prefetch_related("roles")
        .order_by("-is_active", "last_name", "first_name", "username")
    )
    q = (request.GET.get("q") or "").strip()
    if q:
        people = (
            people.filter(username__icontains=q)
            | people.filter(last_name__icontains=q)
            | people.filter(first_name__icontains=q)
        )
    return render(request, "accounts/settings/users.html", {"people": people[:500], "q": q})


@settings_required("auto")
def user_edit(request, pk: int | None = None):
    person = _get(User.objects.all(), pk) if pk else None
    form_class = UserAccessForm if person else UserCreateForm
    form = form_class(request.POST or None, instance=person, actor=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            created = person is None
            person = form.save(commit=False)
            if created:
                # A random secret nobody knows; the person sets their own from the link.
                person.set_password(get_random_string(48))
            person.save()
            form.save_m2m()
        if created:
            # The new person sets their own password from the e-mailed link.
            reset = PasswordResetForm({"email": person.email})
            if reset.is_valid():
                from django.conf import settings as dj_settings

                reset.save(
                    request=request,
                    use_https=request.is_secure(),
                    subject_template_name="accounts/password_reset_subject.txt",
                    email_template_name="accounts/password_reset_email.txt",
                    extra_email_context={"site_url": dj_settings.SVYAZ_SITE_URL},
                )
            messages.success(
                request,
                _("%(name)s was added; a link to set the password was sent to %(email)s.")
                % {"name": person, "email": person.email},
            )
        else:
            messages.success(request, _("Saved: %(name)s") % {"name": person})
        return redirect("settings:users")
    return render(request, "accounts/settings/user_form.html", {"form": form, "person": person})


# --- roles -------------------------------------------------------------------------------


@settings_required("view")
def roles(request):
    rows = Role.objects.annotate(people=Count("users")).order_by("name")
    return render(request, "accounts/settings/roles.html", {"roles": rows})


@settings_required("auto")
def role_edit(request, pk: int | None = None):
    role = _get(Role.objects.all(), pk) if pk else None
    source = None
    if role is None and request.GET.get("copy"):
        source = Role.objects.filter(pk=request.GET.get("copy") or 0).first()
    instance = role
    if source is not None:
        instance = Role(grants=source.grants, field_rules=source.field_rules)
    form = RoleForm(request.POST or None, instance=instance)
    if source is not None and not request.POST:
        form.initial.update(name=_("Copy of %(name)s") % {"name": source.name})
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(None if field not in form.fields else field, errors)
        else:
            messages.success(request, _("Saved: %(name)s") % {"name": saved})
            return redirect("settings:roles")
    return render(request, "accounts/settings/role_form.html", {"form": form, "role": role})


@require_POST
@settings_required("edit")
def role_delete(request, pk: int):
    role = _get(Role.objects.annotate(people=Count("users")), pk)
    if role.people:
        messages.error(
            request,
            _("%(count)d people hold this role: take it from them first.") % {"count": role.people},
        )
    else:
        role.delete()
        messages.success(request, _("Deleted: %(name)s") % {"name": role})
    return redirect("settings:roles")
