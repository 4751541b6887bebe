"""Console users in SQL, with argon2 password hashes. Roles: agent, trainer, admin (admins can do everything)."""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from bot import db
from bot.migrations import upgrade
from bot.private_files import private_dir, write_private
from bot.settings import ENV_CONSOLE_ADMIN_PASSWORD

ROLES = ("agent", "trainer", "admin")
EDITABLE = ("role", "name", "teams", "max_chats", "active", "password")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10
ADMIN_PASSWORD_FILE = "console_admin_password"  # noqa: S105 (a file name)

metadata = sa.MetaData()
users = sa.Table(
    "console_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("teams", sa.String(120), nullable=False, default=""),  # comma-separated; empty: every team
    sa.Column("max_chats", sa.Integer, nullable=False, default=3),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@dataclass
class User:
    id: int
    username: str
    name: str
    role: str
    teams: List[str] = field(default_factory=list)
    max_chats: int = 3
    active: bool = True

    def can(self, *roles: str) -> bool:
        return self.role == "admin" or not roles or self.role in roles

    def public(self) -> Dict[str, Any]:
        return {"id": self.id, "username": self.username, "name": self.name, "role": self.role,
                "teams": self.teams, "max_chats": self.max_chats, "active": self.active}


def _user(row: Any) -> User:  # a row of `users` (SQLAlchemy ships no types here)
    return User(row.id, row.username, row.name, row.role, [t for t in (row.teams or "").split(",") if t],
                row.max_chats, bool(row.active))


class Users:
    def __init__(self, url: str) -> None:
        self.engine = db.hold(url)
        upgrade(url, "users")
        self.hasher = PasswordHasher()
        self._dummy = self.hasher.hash(secrets.token_hex(8))  # equal work for unknown usernames

    def close(self) -> None:
        db.release(self.engine)

    def authenticate(self, username: str, password: str) -> Optional[User]:
        with self.engine.connect() as conn:
            row = conn.execute(users.select().where(users.c.username == (username or "").strip().lower())).first()
        try:
            self.hasher.verify(row.password_hash if row else self._dummy, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.active:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            self._set_password(row.id, password)
        return _user(row)

    def get(self, user_id: int) -> Optional[User]:
        with self.engine.connect() as conn:
            row = conn.execute(users.select().where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def all(self) -> List[User]:
        with self.engine.connect() as conn:
            return [_user(r) for r in conn.execute(users.select().order_by(users.c.username))]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(users)).scalar()

    def create(self, username: str, password: str, role: str = "agent", name: str = "", teams: Any = (),
               max_chats: int = 3) -> User:  # teams: as sent (team_names checks them)
        username = username.strip().lower() if isinstance(username, str) else ""
        if not USERNAME.match(username):
            raise UserError("username: 2-32 characters, lowercase letters, digits, dot, dash or underscore")
        values = checked({"role": role, "name": name or username, "teams": teams, "max_chats": max_chats})
        check_password(password)
        values.update(username=username, password_hash=self.hasher.hash(password), active=True,
                      created_at=dt.datetime.utcnow())
        try:
            with self.engine.begin() as conn:
                values["id"] = conn.execute(users.insert().values(**values)).inserted_primary_key[0]
        except IntegrityError:
            raise UserError(f"the username {username!r} is taken") from None
        made = self.get(values["id"])
        assert made is not None  # just inserted, in this transaction's commit
        return made

    def update(self, user_id: int, changes: Dict[str, Any]) -> User:
        """Change the fields in `changes` (any of EDITABLE), each checked first: one wrong one changes nothing."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise UserError(f"unknown field {', '.join(map(repr, unknown))}: a user's {', '.join(EDITABLE)} can change")
        values = checked({k: v for k, v in changes.items() if k != "password"})
        if changes.get("password") not in (None, ""):
            check_password(changes["password"])
            values["password_hash"] = self.hasher.hash(changes["password"])
        if values:
            with self.engine.begin() as conn:
                conn.execute(users.update().where(users.c.id == user_id).values(**values))
        user = self.get(user_id)
        if user is None:
            raise UserError("no such user")
        return user

    def _set_password(self, user_id: int, password: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(users.update().where(users.c.id == user_id).values(password_hash=self.hasher.hash(password)))


def checked(v: Dict[str, Any]) -> Dict[str, Any]:
    """The column values for role, name, teams, max_chats and active, each of the type it must be (JSON sends any)."""
    out: Dict[str, Any] = {}
    if "role" in v:
        if not isinstance(v["role"], str) or v["role"] not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        out["role"] = v["role"]
    if "name" in v:
        name = v["name"]
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= 80:
            raise UserError("name: a text of 1-80 characters")
        out["name"] = name.strip()
    if "teams" in v:
        out["teams"] = ",".join(team_names(v["teams"]))[:120]
    if "max_chats" in v:
        out["max_chats"] = whole_number(v["max_chats"], "max_chats", 1, 20)
    if "active" in v:
        if not isinstance(v["active"], bool):
            raise UserError("active must be true or false")
        out["active"] = v["active"]
    return out


def team_names(teams: Any) -> List[str]:
    """Teams sent as a list of names or as names separated by commas (none: every team); sorted, lowercase, each once."""
    names = teams.split(",") if isinstance(teams, str) else [] if teams is None else \
        list(teams) if isinstance(teams, (list, tuple)) else None
    if names is None or not all(isinstance(t, str) for t in names):
        raise UserError("teams: a list of team names, or team names separated by commas")
    return sorted({t.strip().lower() for t in names if t.strip()})


def whole_number(value: Any, what: str, low: int, high: int) -> int:
    """A whole number sent as a number or as digits; never a boolean (JSON's true would be 1) or a fraction."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    if number is None or not low <= number <= high:
        raise UserError(f"{what} must be a whole number from {low} to {high}")
    return number


def check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")


def ensure_admin(users_store: Users, var_dir: Path, password: str = "") -> Tuple[str, Optional[str]]:
    """The first admin, made when there are no users: (username, where its password is) for the start-up banner."""
    path = var_dir / ADMIN_PASSWORD_FILE
    if users_store.count():
        return "admin", (str(path) if path.exists() else None)
    if not password:
        password = secrets.token_urlsafe(12)
        write_private(private_dir(var_dir) / ADMIN_PASSWORD_FILE, password + "\n")
    users_store.create("admin", password, role="admin", name="Admin")
    return "admin", (str(path) if path.exists() else ENV_CONSOLE_ADMIN_PASSWORD)
