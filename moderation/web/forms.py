from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Benutzername"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Passwort"), validators=[DataRequired(), Length(max=200)])


class QuestionForm(FlaskForm):
    """The audience form; the service normalises and checks the text itself."""
    text = TextAreaField(_l("Ihre Frage"), validators=[Length(max=2000)])
    name = StringField(_l("Name (optional)"), validators=[Length(max=200)])
    name_in_record = BooleanField(_l("Meinen Namen in der Dokumentation nennen"), default=False)
    client_msg_id = HiddenField()


class ImportForm(FlaskForm):
    """"Fragen übernehmen": a pasted list (the service splits and checks it) and where it is from."""
    questions = TextAreaField(_l("Fragen"), validators=[Length(max=200_000)])
    source = StringField(_l("Quelle"), validators=[Length(max=200)])
