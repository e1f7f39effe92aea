"""The forms; every one that takes text to store derives from Form, whose fields drop what XML forbids."""
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..services.text import printable


def _printable(value: Any) -> Any:
    return printable(value) if isinstance(value, str) else value


class Form(FlaskForm):
    """Every field's text loses the code points XML forbids (services.text.printable) before any
    validator or view sees it: talk titles, descriptions, rules, labels, names alike. Passwords
    are taken as typed."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if unbound_field.field_class is PasswordField:
                return unbound_field.bind(form=form, **options)
            filters = [*unbound_field.kwargs.get("filters", ()), _printable]
            return unbound_field.bind(form=form, **{**options, "filters": filters})


class LoginForm(FlaskForm):
    """Credentials are compared as typed, never cleaned: "mod\\x00" is not the account "mod"."""
    username = StringField(_l("Benutzername"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=200)])


class QuestionForm(Form):
    """The audience form; the service normalises and checks the text itself."""
    text = TextAreaField(_l("Ihre Frage"), validators=[Length(max=2000)])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])
    name_in_record = BooleanField(_l("Meinen Namen in der Dokumentation nennen"), default=False)
    client_msg_id = HiddenField()


class ImportForm(Form):
    """"Fragen übernehmen": a pasted list (the service splits and checks it) and where it is from."""
    questions = TextAreaField(_l("Fragen"), validators=[Length(max=200_000)])
    source = StringField(_l("Quelle"), validators=[Length(max=200)])
