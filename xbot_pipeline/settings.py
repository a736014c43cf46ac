"""One typed settings object, read once from the ``XBOT_*`` environment and validated by one rule set.

``load_settings()`` returns ``Settings``: the core fields (``settings.home``, ``.database_url``,
``.publisher``, ...) plus two sections, ``settings.health`` (``HealthThresholds``, from
``XBOT_HEALTH_<FIELD>``) and ``settings.learning`` (``LearningConfig``, from ``XBOT_LEARNING_<FIELD>``
and ``XBOT_LEARNING_SIMILARITY_THRESHOLD`` for the near-duplicate gate). Domain code receives the
section it needs from its caller; nothing else reads the environment.

Every variable is optional; the defaults give the embedded set-up (SQLite store in ``XBOT_HOME``, local
Dagster instance). Each family is a pydantic-settings model whose fields are named after the variables,
so there is one parser: any malformed value (wrong type, out of range, NaN or infinity, unknown choice,
a boolean other than true/false/1/0/yes/no/on/off) raises ``SettingsError`` with one line naming the
variable and what it expects. ``XBOT_*`` names no family knows (typos) are reported as warnings.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.content.llm import LlmEndpoint
from xbot_pipeline.learning.config import HORIZONS, POLICIES, LearningConfig
from xbot_pipeline.learning.evergreen import DEFAULT_VARIATIONS, EvergreenConfig
from xbot_pipeline.posting.config import X_TIERS, XBudgetConfig
from xbot_pipeline.store.urls import normalize_database_url, url_password, validate_postgres_url

log = logging.getLogger(__name__)

PUBLISHERS = ("browser", "api")
DEFAULT_X_TIER = "pay_per_use"  # X's current self-serve access (since February 2026): see docs/POSTING.md
EXECUTORS = ("in_process", "celery")
DEFAULT_CELERY_BROKER = "pyamqp://guest@127.0.0.1:5672//"
HEALTH_PREFIX = "XBOT_HEALTH_"
LEARNING_PREFIX = "XBOT_LEARNING_"
SIMILARITY_THRESHOLD = "XBOT_LEARNING_SIMILARITY_THRESHOLD"
# XBOT_* names that are not settings of the package: the scripts' virtualenv and the test harness.
OTHER_VARIABLES = ("XBOT_VENV",)
OTHER_PREFIXES = ("XBOT_TEST_", "XBOT_CAMPAIGN_", "XBOT_AUTH_CAMPAIGN_")
# Their values never appear in an error line.
SECRET_VARIABLES = frozenset(
    {
        "XBOT_SECRET_KEY",
        "XBOT_X_API_TOKEN",
        "XBOT_LLM_API_KEY",
        "XBOT_X_CLIENT_SECRET",
        "XBOT_X_CONSUMER_KEY",
        "XBOT_X_CONSUMER_SECRET",
        "XBOT_X_ACCESS_TOKEN",
        "XBOT_X_ACCESS_TOKEN_SECRET",
    }
)


class SettingsError(ValueError):
    """A setting is malformed; the message is one line naming the variable."""


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    publisher: str  # the default publisher of NEW accounts; each account keeps its own (`xbot accounts`)
    x_web_url: str
    x_api_url: str
    session_file: Path
    alert_webhook_url: str | None
    warehouse_path: Path
    media_dir: Path = Path(".xbot/media")  # queued images, content-addressed (<sha256>.<ext>)
    x_api_token: str | None = field(default=None, repr=False)
    browser_executable: str | None = None
    browser_headless: bool = True
    # one Chromium per worker, one context per account (publishing/browser/pool.py): the cap and idle time
    browser_max_contexts: int = 25
    browser_context_idle_s: float = 600.0
    account: str = "main"
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    llm_timeout_s: float = 20.0
    dagster_pg_url: str | None = field(default=None, repr=False)
    posting_cron: str = "*/5 * * * *"  # drills and tests only; production keeps the default
    secret_key: str | None = field(default=None, repr=False)  # Fernet key sealing stored X tokens
    x_authorize_url: str = "https://x.com/i/oauth2/authorize"
    x_client_id: str | None = None  # the X app's OAuth 2.0 client id (default of `xbot auth login`)
    x_client_secret: str | None = field(default=None, repr=False)  # confidential apps only
    x_consumer_key: str | None = field(default=None, repr=False)  # OAuth 1.0a (`xbot auth login --oauth1`)
    x_consumer_secret: str | None = field(default=None, repr=False)
    x_access_token: str | None = field(default=None, repr=False)
    x_access_token_secret: str | None = field(default=None, repr=False)
    recovery_cron: str = "*/5 * * * *"
    review_auto_approve_min: float | None = None  # posts waiting for review longer are approved; None: off
    review_alert_min: float = 120.0  # alert when the oldest post waiting for review is older
    evergreen: EvergreenConfig = field(default_factory=EvergreenConfig)
    # the fleet (docs/SCALING.md): where posting/recovery steps run, and how accounts are sharded
    executor: str = "in_process"  # in_process: Dagster's own executor, no broker; celery: Celery workers
    celery_broker: str = field(default=DEFAULT_CELERY_BROKER, repr=False)
    celery_backend: str | None = field(default=None, repr=False)
    fleet_shard_size: int = 25
    fleet_io_dir: Path | None = None  # step outputs (Parquet/JSON); default: the Dagster instance's storage
    health: HealthThresholds = field(default_factory=HealthThresholds)
    learning: LearningConfig = field(default_factory=LearningConfig)
    x_budget: XBudgetConfig = field(default_factory=lambda: XBudgetConfig.for_tier(DEFAULT_X_TIER))

    @property
    def llm_endpoint(self) -> LlmEndpoint | None:
        """The LLM generator's endpoint when ``XBOT_LLM_BASE_URL`` and ``XBOT_LLM_MODEL`` are set."""
        if not self.llm_base_url or not self.llm_model:
            return None
        return LlmEndpoint(self.llm_base_url, self.llm_model, self.llm_api_key, self.llm_timeout_s)

    @property
    def spool_dir(self) -> Path:
        return self.home / "spool"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def distributed(self) -> bool:
        return self.executor == "celery"

    @property
    def x_token_url(self) -> str:
        """X's OAuth 2.0 token endpoint, on the API host."""
        return f"{self.x_api_url}/2/oauth2/token"

    def secrets(self) -> list[str]:
        """Values that must never reach logs or events."""
        values = [self.x_api_token, self.llm_api_key, self.alert_webhook_url, self.secret_key]
        values += [self.x_client_secret, self.x_consumer_key, self.x_consumer_secret]
        values += [self.x_access_token, self.x_access_token_secret]
        urls = (self.database_url, self.dagster_pg_url, self.celery_broker, self.celery_backend)
        values += [url_password(u) for u in urls if u]
        return [v for v in values if v]

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# --- the rule set: every field is a typed, constrained value whose description says what it expects ---


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("not an http(s) URL")
    return value


_ACCOUNT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _account(value: str) -> str:
    if not _ACCOUNT.match(value):
        raise ValueError("not an account id")
    return value


def _database_url(value: str) -> str:
    return normalize_database_url(value, name="XBOT_DATABASE_URL")


def _dagster_pg_url(value: str) -> str:
    return validate_postgres_url(value, name="XBOT_DAGSTER_PG_URL")


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError("not one of the choices")
        return value

    return check


def _one_of(choices: tuple[str, ...]) -> Any:
    return Annotated[
        str,
        BeforeValidator(_lower),
        AfterValidator(_choice(choices)),
        Field(description=f"one of {', '.join(choices)}"),
    ]


def _broker_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("pyamqp", "amqp", "amqps", "redis", "rediss") or not parsed.hostname:
        raise ValueError("not a broker URL")
    return value


def _backend_url(value: str) -> str:
    parsed = urlparse(value)
    if value != "rpc://" and (parsed.scheme not in ("redis", "rediss") or not parsed.hostname):
        raise ValueError("not a result backend URL")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url), Field(description="an http(s) URL")]
Flag = Annotated[bool, Field(description="true or false (also 1/0, yes/no, on/off)")]
Text = Annotated[str, Field(min_length=1, description="a non-empty string")]


def _number(*, ge: float | None = None, gt: float | None = None, le: float | None = None, what: str) -> Any:
    return Annotated[float, Field(ge=ge, gt=gt, le=le, allow_inf_nan=False, description=what)]


def _count(*, ge: int = 0, what: str | None = None) -> Any:
    return Annotated[int, Field(ge=ge, description=what or f"a whole number of at least {ge}")]


Percent = _number(ge=0, le=100, what="a percentage from 0 to 100")
Minutes = _number(gt=0, what="a number of minutes above 0")
Hours = _number(gt=0, what="a number of hours above 0")
NonNegative = _number(ge=0, what="a number of at least 0")
Positive = _number(gt=0, what="a number above 0")
Share = _number(ge=0, le=1, what="a fraction from 0 to 1")


def _fernet_key(value: str) -> str:
    from cryptography.fernet import Fernet

    try:
        Fernet(value.encode())
    except (ValueError, TypeError):
        raise ValueError("not a Fernet key") from None
    return value


FernetKey = Annotated[
    str,
    AfterValidator(_fernet_key),
    Field(description="a Fernet key (32 url-safe base64 bytes, from Fernet.generate_key())"),
]

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?]+$")


def _cron(value: str) -> str:
    """Five cron fields (Dagster checks the rest when the code location loads)."""
    fields_ = value.split()
    if len(fields_) != 5 or not all(_CRON_FIELD.match(f) for f in fields_):
        raise ValueError("not five cron fields")
    return " ".join(fields_)


Cron = Annotated[str, AfterValidator(_cron), Field(description="a cron expression such as '*/5 * * * *'")]


XTier = Annotated[
    str,
    BeforeValidator(_lower),
    AfterValidator(_choice(tuple(X_TIERS))),
    Field(description=f"one of {', '.join(X_TIERS)}"),
]
PostCount = Annotated[int, Field(ge=0, description="a whole number of posts, at least 0")]


def _variations(value: str) -> str:
    """Templates separated by '|', each with '{text}' exactly once."""
    templates = [t.replace("\\n", "\n") for t in value.split("|")]
    if not all(t.count("{text}") == 1 and t.replace("{text}", "").strip() for t in templates):
        raise ValueError("not variation templates")
    return value


PositiveMinutes = Annotated[
    float, Field(gt=0, allow_inf_nan=False, description="a number of minutes above 0")
]
PositiveDays = Annotated[float, Field(gt=0, allow_inf_nan=False, description="a number of days above 0")]
Variations = Annotated[
    str,
    AfterValidator(_variations),
    Field(description="variation templates separated by '|', each containing {text} once and more besides"),
]


class _EnvModel(BaseSettings):
    """A family of variables: each field is named after its variable (``None``: unset)."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True, env_ignore_empty=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values ``load_settings`` hands over: never ``os.environ`` behind the caller's mapping,
        nor a ``.env`` file."""
        return (init_settings,)


class CoreEnv(_EnvModel):
    """The core ``XBOT_*`` variables."""

    XBOT_HOME: Annotated[Path, Field(description="a folder path")] = Path(".xbot")
    XBOT_DATABASE_URL: (
        Annotated[str, AfterValidator(_database_url), Field(description="a sqlite:// or postgresql:// URL")]
        | None
    ) = None
    XBOT_PUBLISHER: Annotated[
        str,
        BeforeValidator(_lower),
        AfterValidator(_choice(PUBLISHERS)),
        Field(description=f"one of {', '.join(PUBLISHERS)}"),
    ] = "api"
    XBOT_X_WEB_URL: HttpUrl = "https://x.com"
    XBOT_X_API_URL: HttpUrl = "https://api.x.com"
    XBOT_X_API_TOKEN: Text | None = None
    XBOT_SESSION_FILE: Annotated[Path, Field(description="a file path")] | None = None
    XBOT_ALERT_WEBHOOK_URL: HttpUrl | None = None
    XBOT_WAREHOUSE_PATH: Annotated[Path, Field(description="a file path")] | None = None
    XBOT_MEDIA_DIR: Annotated[Path, Field(description="a folder path")] | None = None
    XBOT_BROWSER_EXECUTABLE: Text | None = None
    XBOT_BROWSER_HEADLESS: Flag = True
    XBOT_BROWSER_MAX_CONTEXTS: Annotated[
        int, Field(ge=1, le=1000, description="a whole number of browser contexts from 1 to 1000")
    ] = 25
    XBOT_BROWSER_CONTEXT_IDLE_S: Annotated[
        float, Field(gt=0, le=86400, allow_inf_nan=False, description="seconds in (0, 86400]")
    ] = 600.0
    XBOT_ACCOUNT: Annotated[
        str, AfterValidator(_account), Field(description="letters, digits, '-' or '_' (at most 64)")
    ] = "main"
    XBOT_LLM_BASE_URL: HttpUrl | None = None
    XBOT_LLM_API_KEY: Text | None = None
    XBOT_LLM_MODEL: Text | None = None
    XBOT_LLM_TIMEOUT_S: Annotated[
        float, Field(gt=0, le=600, allow_inf_nan=False, description="seconds in (0, 600]")
    ] = 20.0
    XBOT_DAGSTER_PG_URL: (
        Annotated[
            str, AfterValidator(_dagster_pg_url), Field(description="a postgresql:// URL naming a database")
        ]
        | None
    ) = None
    XBOT_POSTING_CRON: Cron = "*/5 * * * *"
    XBOT_RECOVERY_CRON: Cron = "*/5 * * * *"
    XBOT_X_TIER: XTier = DEFAULT_X_TIER
    XBOT_X_POSTS_PER_USER_24H: PostCount | None = None
    XBOT_X_POSTS_PER_APP_24H: PostCount | None = None
    XBOT_X_APP_NAME: Annotated[
        str, Field(min_length=1, max_length=128, description="a name of 1 to 128 characters")
    ] = "default"
    XBOT_X_BUDGET_WINDOW_S: Annotated[
        float, Field(gt=0, le=86400, allow_inf_nan=False, description="seconds in (0, 86400]")
    ] = 86400.0
    XBOT_REVIEW_AUTO_APPROVE_MIN: PositiveMinutes | None = None
    XBOT_REVIEW_ALERT_MIN: PositiveMinutes = 120.0
    XBOT_EVERGREEN_MIN_GAP_DAYS: PositiveDays = 30.0
    XBOT_EVERGREEN_VARIATIONS: Variations | None = None
    XBOT_EXECUTOR: Annotated[
        str,
        BeforeValidator(_lower),
        AfterValidator(_choice(EXECUTORS)),
        Field(description=f"one of {', '.join(EXECUTORS)}"),
    ] = "in_process"
    XBOT_CELERY_BROKER: Annotated[
        str, AfterValidator(_broker_url), Field(description="a pyamqp://, amqp:// or redis:// URL")
    ] = DEFAULT_CELERY_BROKER
    XBOT_CELERY_BACKEND: (
        Annotated[str, AfterValidator(_backend_url), Field(description="rpc:// or a redis:// URL")] | None
    ) = None
    XBOT_FLEET_SHARD_SIZE: Annotated[
        int, Field(ge=1, le=10000, description="a whole number of accounts from 1 to 10000")
    ] = 25
    XBOT_FLEET_IO_DIR: Annotated[Path, Field(description="a folder path")] | None = None
    XBOT_SECRET_KEY: FernetKey | None = None
    XBOT_X_AUTHORIZE_URL: HttpUrl = "https://x.com/i/oauth2/authorize"
    XBOT_X_CLIENT_ID: Text | None = None
    XBOT_X_CLIENT_SECRET: Text | None = None
    XBOT_X_CONSUMER_KEY: Text | None = None
    XBOT_X_CONSUMER_SECRET: Text | None = None
    XBOT_X_ACCESS_TOKEN: Text | None = None
    XBOT_X_ACCESS_TOKEN_SECRET: Text | None = None


# Field rules of the two sections, by field name; a field a section gains later without a rule here
# gets the rule of its type (_BY_TYPE), so it is validated from the day it appears.
HEALTH_RULES: dict[str, Any] = {
    "min_health": Percent,
    "resolve_health": Percent,
    "min_recovery_rate": Percent,
    "resolve_recovery_rate": Percent,
    "min_posting_success": Percent,
    "min_job_health": Percent,
    "max_error_rate": _number(ge=0, what="errors per hour, at least 0"),
    "spike_factor": Positive,
    **{
        name: Minutes
        for name in (
            "stuck_posting_minutes",
            "recovery_window_minutes",
            "snapshot_max_age_minutes",
            "action_window_minutes",
            "breaker_open_minutes",
            "spike_window_minutes",
            "alert_repeat_minutes",
            "max_due_age_minutes",
            "max_minutes_without_posting_run",
        )
    },
    **{
        name: _count(ge=1)
        for name in (
            "session_failures_to_pause",
            "root_cause_spike_count",
            "spike_min_count",
            "top_error_min_count",
            "max_queued_posting_runs",
        )
    },
}
LEARNING_RULES: dict[str, Any] = {
    "posts_per_day": _count(ge=0),
    "horizon_hours": Hours,
    "lead_minutes": _number(ge=0, what="a number of minutes, at least 0"),
    "slot_jitter_minutes": _number(ge=0, le=60, what="a number of minutes from 0 to 60"),
    "policy": _one_of(POLICIES),
    "mc_draws": _count(ge=1),
    "max_drafts": _count(ge=1),
    "use_llm": Flag,
    "reward_horizon": _one_of(tuple(HORIZONS)),
    "reward_scale": Positive,
    "success_rate": Share,
    "half_life_days": _number(gt=0, what="a number of days above 0"),
    "evidence_weight": Positive,
    "hour_neighbour_share": Share,
    "prior_alpha": Positive,
    "prior_beta": Positive,
    "freshness_hours": Hours,
    "seed_epsilon": Share,
    "seed_decay": Share,
    "metrics_late_hours": _number(ge=0, what="a number of hours, at least 0"),
    "metrics_chunk": _count(ge=1),
}
_BY_TYPE: dict[str, Any] = {"bool": Flag, "int": _count(ge=0), "float": NonNegative, "str": Text}
SIMILARITY_RULE = _number(gt=0, le=1, what="a Jaccard similarity in (0, 1]")


def _section_env(
    name: str, doc: str, prefix: str, section: type, rules: Mapping[str, Any], extra: Mapping[str, Any]
) -> type[_EnvModel]:
    """A pydantic-settings model with one optional field per dataclass field, named ``<prefix><FIELD>``."""
    specs: dict[str, Any] = {}
    for f in fields(section):
        rule = rules.get(f.name) or _BY_TYPE.get(f.type if isinstance(f.type, str) else f.type.__name__)
        if rule is None:  # a nested config (the gates): set through its own variables in ``extra``
            continue
        specs[prefix + f.name.upper()] = (rule | None, None)
    specs.update({var: (rule | None, None) for var, rule in extra.items()})
    model: type[_EnvModel] = create_model(name, __base__=_EnvModel, __doc__=doc, **specs)
    return model


HealthEnv = _section_env(
    "HealthEnv",
    "``XBOT_HEALTH_<FIELD>`` for every ``HealthThresholds`` field.",
    HEALTH_PREFIX,
    HealthThresholds,
    HEALTH_RULES,
    {},
)
LearningEnv = _section_env(
    "LearningEnv",
    "``XBOT_LEARNING_<FIELD>`` for every ``LearningConfig`` field, and the near-duplicate threshold.",
    LEARNING_PREFIX,
    LearningConfig,
    LEARNING_RULES,
    {SIMILARITY_THRESHOLD: SIMILARITY_RULE},
)
ENV_MODELS: tuple[type[_EnvModel], ...] = (CoreEnv, HealthEnv, LearningEnv)


# --- the one loader ---


def _variables(env: Mapping[str, str]) -> dict[str, str]:
    """The ``XBOT_*`` values of ``env``, stripped; blank ones count as unset, as they always have.

    Every field is a plain scalar named after its variable (no aliases, nothing JSON-decoded: a test
    checks it), so this is what pydantic-settings' environment source yields, without its per-field
    type analysis, which cost most of a command's settings time."""
    found = {k: v.strip() for k, v in env.items() if k.startswith("XBOT_") and v.strip()}
    for name, value in found.items():  # bytes that are not UTF-8 arrive as lone surrogates
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SettingsError(f"{name} is not valid UTF-8") from None
    return found


def _validated(model: type[BaseSettings], variables: Mapping[str, str]) -> Any:
    raw = {name: variables[name] for name in model.model_fields if name in variables}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise SettingsError(_one_line(model, exc, raw)) from None


def _one_line(model: type[BaseSettings], exc: ValidationError, raw: Mapping[str, Any]) -> str:
    """``VAR must be <what it expects>, got 'value'`` for the first bad variable (or the store's own
    message for a database URL, which says what is wrong with it)."""
    error = exc.errors()[0]
    var = str(error["loc"][0])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError) and str(cause).startswith(var):
        return str(cause).splitlines()[0]
    info = model.model_fields.get(var)
    expected = (info and (info.description or _description(info.annotation))) or "a valid value"
    shown = "a value that is not shown (a secret)" if var in SECRET_VARIABLES else repr(raw.get(var))
    return f"{var} must be {expected}, got {shown}"


def _description(annotation: Any) -> str | None:
    for meta in getattr(annotation, "__metadata__", ()):
        if getattr(meta, "description", None):
            return str(meta.description)
    for arg in getattr(annotation, "__args__", ()):  # X | None
        found = _description(arg)
        if found:
            return found
    return None


def known_variables() -> frozenset[str]:
    return frozenset(name for model in ENV_MODELS for name in model.model_fields)


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """``XBOT_*`` names no settings family reads (typos, or variables of another version)."""
    known = known_variables()
    return sorted(
        k
        for k in env
        if k.startswith("XBOT_")
        and k not in known
        and k not in OTHER_VARIABLES
        and not k.startswith(OTHER_PREFIXES)
    )


_warned: set[str] = set()


def _warn_unknown(env: Mapping[str, str]) -> None:
    """A warning, not an error: a name nothing reads changes no behaviour, and a leftover variable (or one
    set for a newer version during a rolling deploy) must not stop posting. It names the likely intended
    variable, once per process."""
    known = sorted(known_variables())
    for name in unknown_variables(env):
        if name in _warned:
            continue
        _warned.add(name)
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        log.warning("unknown setting %s is ignored%s", name, hint)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Validate every ``XBOT_*`` family and build ``Settings``; the first malformed value raises
    ``SettingsError`` (one line naming the variable)."""
    env = os.environ if env is None else env
    variables = _variables(env)
    core, health, learning = (_validated(model, variables) for model in ENV_MODELS)
    _warn_unknown(env)
    home = core.XBOT_HOME.expanduser().absolute()
    _check_home(home)
    database_url = core.XBOT_DATABASE_URL or f"sqlite:///{home / 'xbot.sqlite3'}"
    _check_sqlite_folder(database_url, home)
    return Settings(
        home=home,
        database_url=database_url,
        publisher=core.XBOT_PUBLISHER,
        x_web_url=core.XBOT_X_WEB_URL.rstrip("/"),
        x_api_url=core.XBOT_X_API_URL.rstrip("/"),
        session_file=(core.XBOT_SESSION_FILE or home / "session.json").expanduser(),
        alert_webhook_url=core.XBOT_ALERT_WEBHOOK_URL,
        warehouse_path=(core.XBOT_WAREHOUSE_PATH or home / "warehouse.duckdb").expanduser().absolute(),
        media_dir=(core.XBOT_MEDIA_DIR or home / "media").expanduser().absolute(),
        x_api_token=core.XBOT_X_API_TOKEN,
        browser_executable=core.XBOT_BROWSER_EXECUTABLE,
        browser_headless=core.XBOT_BROWSER_HEADLESS,
        browser_max_contexts=core.XBOT_BROWSER_MAX_CONTEXTS,
        browser_context_idle_s=core.XBOT_BROWSER_CONTEXT_IDLE_S,
        account=core.XBOT_ACCOUNT,
        llm_base_url=core.XBOT_LLM_BASE_URL.rstrip("/") if core.XBOT_LLM_BASE_URL else None,
        llm_api_key=core.XBOT_LLM_API_KEY,
        llm_model=core.XBOT_LLM_MODEL,
        llm_timeout_s=core.XBOT_LLM_TIMEOUT_S,
        dagster_pg_url=core.XBOT_DAGSTER_PG_URL,
        posting_cron=core.XBOT_POSTING_CRON,
        recovery_cron=core.XBOT_RECOVERY_CRON,
        review_auto_approve_min=core.XBOT_REVIEW_AUTO_APPROVE_MIN,
        review_alert_min=core.XBOT_REVIEW_ALERT_MIN,
        evergreen=EvergreenConfig(
            min_gap_days=core.XBOT_EVERGREEN_MIN_GAP_DAYS,
            variations=tuple(t.replace("\\n", "\n") for t in core.XBOT_EVERGREEN_VARIATIONS.split("|"))
            if core.XBOT_EVERGREEN_VARIATIONS
            else DEFAULT_VARIATIONS,
        ),
        executor=core.XBOT_EXECUTOR,
        celery_broker=core.XBOT_CELERY_BROKER,
        celery_backend=core.XBOT_CELERY_BACKEND,
        fleet_shard_size=core.XBOT_FLEET_SHARD_SIZE,
        fleet_io_dir=core.XBOT_FLEET_IO_DIR.expanduser().absolute() if core.XBOT_FLEET_IO_DIR else None,
        secret_key=core.XBOT_SECRET_KEY,
        x_authorize_url=core.XBOT_X_AUTHORIZE_URL,
        x_client_id=core.XBOT_X_CLIENT_ID,
        x_client_secret=core.XBOT_X_CLIENT_SECRET,
        x_consumer_key=core.XBOT_X_CONSUMER_KEY,
        x_consumer_secret=core.XBOT_X_CONSUMER_SECRET,
        x_access_token=core.XBOT_X_ACCESS_TOKEN,
        x_access_token_secret=core.XBOT_X_ACCESS_TOKEN_SECRET,
        health=_section(HealthThresholds, HEALTH_PREFIX, health),
        learning=_learning(learning),
        x_budget=XBudgetConfig.for_tier(
            core.XBOT_X_TIER,
            per_user_24h=core.XBOT_X_POSTS_PER_USER_24H,
            per_app_24h=core.XBOT_X_POSTS_PER_APP_24H,
            app_key=core.XBOT_X_APP_NAME,
            window_s=core.XBOT_X_BUDGET_WINDOW_S,
        ),
    )


def _check_home(home: Path) -> None:
    """XBOT_HOME must be a folder we can write, or one we can create (its nearest existing parent is a
    writable folder): checked here so a bad value is one line naming the variable, not an OSError later."""
    try:
        home.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a loop of links, ...
        raise SettingsError(f"XBOT_HOME cannot be used: {exc.strerror}") from None
    if home.exists():
        if not home.is_dir():
            raise SettingsError(f"XBOT_HOME must be a folder, but {home} is a file")
        if not os.access(home, os.W_OK | os.X_OK):
            raise SettingsError(f"XBOT_HOME {home} is not writable")
        return
    parent = home.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise SettingsError(f"XBOT_HOME {home} cannot be created: {parent} is not a writable folder")


def _check_sqlite_folder(database_url: str, home: Path) -> None:
    """A SQLite store's folder must exist already, unless it is inside XBOT_HOME (which we create): a typo
    in XBOT_DATABASE_URL must not create folders anywhere on the disk."""
    if not database_url.startswith("sqlite"):
        return
    # sqlite[+driver]:///relative or sqlite:////absolute, maybe ?query: parsed here, not with SQLAlchemy's
    # make_url, because settings must not import SQLAlchemy (SQL lives under store/)
    path = database_url.partition("://")[2].partition("?")[0]
    path = path[1:] if path.startswith("/") else path
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    folder = Path(path).expanduser().absolute().parent
    if folder.is_dir() or folder == home or home in folder.parents:
        return
    what = "is a file" if folder.exists() else "does not exist"
    raise SettingsError(
        f"XBOT_DATABASE_URL names a SQLite file in {folder}, which {what}: create the folder first "
        "(or keep the store inside XBOT_HOME)"
    )


def _section(section: type, prefix: str, values: BaseSettings) -> Any:
    """The section dataclass with every variable that was set; the rest keep the dataclass defaults."""
    changes = {
        f.name: getattr(values, prefix + f.name.upper())
        for f in fields(section)
        if getattr(values, prefix + f.name.upper(), None) is not None
    }
    return section(**changes)


def _learning(values: BaseSettings) -> LearningConfig:
    config: LearningConfig = _section(LearningConfig, LEARNING_PREFIX, values)
    threshold = getattr(values, SIMILARITY_THRESHOLD)
    if threshold is not None:
        config = replace(config, gates=replace(config.gates, similarity_threshold=threshold))
    return config
