import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from svyaz.accounts.models import User


class ProfileForm(forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As in the browser")), *settings.LANGUAGES],
    )
    timezone = forms.ChoiceField(label=_("Time zone"), required=False)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "phone", "language", "timezone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["timezone"].choices = [("", _("Company default")), *[(z, z) for z in zones]]


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "class": "form-control",
            }
        ),
    )
