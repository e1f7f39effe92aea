"""Flask extensions, created here and initialised in create_app()."""
from typing import Any

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}



class Base(DeclarativeBase):
    """The models' base: constraint names follow NAMING, so migrations can refer to them."""
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

READ_ONLY = "fragerunde_read_only"


def begin_read_only(session: Session | scoped_session[Any]) -> None:
    """Begin the session's next transaction as a reader (call it with no transaction open).

    On SQLite every other transaction queues on the process's writer lock and takes the
    database's write lock at BEGIN; a reader needs neither (WAL readers never block and see one
    consistent state), so a long snapshot does not hold up writes or /healthz. Elsewhere a no-op."""
    session.connection(execution_options={READ_ONLY: True})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
socketio = SocketIO()
