"""The organiser's forms: talks and accounts. Labels are the public contract's German words."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, InputRequired, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..services.accounts import MIN_PASSWORD
from ..services.organiser import days_to_end
from .forms import Form

REQUIRED = _l("Bitte ausfüllen.")
ROLE_CHOICES = [SelectChoice("moderator", _l("Moderation")), SelectChoice("admin", _l("Admin"))]


class CheckboxesField(SelectMultipleField):
    """One checkbox per choice, labelled with the choice's name."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TalkForm(Form):
    title = StringField(_l("Titel"), validators=[DataRequired(REQUIRED), Length(max=300)])
    slug = StringField(_l("Kürzel"), validators=[
        DataRequired(REQUIRED), Length(max=80, message=_l("Höchstens 80 Zeichen.")),
        Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$",
               message=_l("Nur Kleinbuchstaben, Ziffern und Bindestriche, z. B. wohnen-2021."))])
    series = SelectField(_l("Reihe"), coerce=int, choices=[])
    day = DateField(_l("Datum"), validators=[InputRequired(_l("Bitte ein Datum angeben."))])
    begins = TimeField(_l("Beginn"), validators=[InputRequired(_l("Bitte eine Uhrzeit angeben."))])
    ends = TimeField(_l("Ende"), validators=[InputRequired(_l("Bitte eine Uhrzeit angeben."))])
    description = TextAreaField(_l("Beschreibung"), validators=[Length(max=5000)])
    audience_votes = BooleanField(_l("Publikumsstimmen"), default=True)
    premoderation = BooleanField(_l("Vorab-Moderation"), default=True)
    early_questions = BooleanField(_l("Fragen vorab annehmen"), default=False)
    moderators = CheckboxesField(_l("Moderation"), coerce=int, choices=[], validate_choice=False)
    recording_url = URLField(_l("Aufzeichnung"), validators=[
        Optional(), Length(max=500, message=_l("Höchstens 500 Zeichen.")),
        URL(require_tld=False, message=_l("Bitte einen Link angeben, der mit https:// beginnt."))])
    record_published = BooleanField(_l("Dokumentation veröffentlichen"), default=False)

    def validate_ends(self, field: TimeField) -> None:
        """Beside the form's other errors; the service decides on the day (organiser.window)."""
        if self.begins.data and field.data and days_to_end(self.begins.data, field.data) is None:
            raise ValidationError(_l("Das Ende muss nach dem Beginn liegen."))


class RulesForm(Form):
    """A series' "Regeln der Fragerunde"; empty: the default text."""
    rules = TextAreaField(_l("Regeln der Fragerunde"), validators=[Length(max=10000)])


class UserForm(Form):
    username = StringField(_l("Benutzername"), validators=[DataRequired(REQUIRED), Length(max=80)])
    password = PasswordField(_l("Passwort"), validators=[
        DataRequired(REQUIRED),
        Length(min=MIN_PASSWORD, max=200, message=_l("Mindestens %(n)s Zeichen.", n=MIN_PASSWORD))])
    role = SelectField(_l("Rolle"), choices=ROLE_CHOICES)


class TokenForm(Form):
    """"Zugang anlegen": a relay's token for this talk; its label names the channel ("YouTube")."""
    label = StringField(_l("Bezeichnung"), validators=[DataRequired(REQUIRED), Length(max=40)])


class AssignForm(Form):
    """A mail of "Ohne Zuordnung" into a talk, its text as the admin corrected it."""
    talk = SelectField(_l("Vortrag"), coerce=int, choices=[])
    text = TextAreaField(_l("Frage"), validators=[Length(max=5000)])
    name = StringField(_l("Name"), validators=[Length(max=80)])


class ActionForm(Form):
    """The buttons on the account list carry nothing but the CSRF token."""


class RoleForm(Form):
    role = SelectField(_l("Rolle"), choices=ROLE_CHOICES)
