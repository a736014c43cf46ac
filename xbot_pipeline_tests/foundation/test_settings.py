import logging
import re
from pathlib import Path

import pytest

from xbot_pipeline import settings as settings_module
from xbot_pipeline.analytics.config import HealthThresholds
from xbot_pipeline.learning.config import LearningConfig
from xbot_pipeline.settings import (
    OTHER_VARIABLES,
    CoreEnv,
    SettingsError,
    known_variables,
    load_settings,
    unknown_variables,
)


def test_defaults_give_the_embedded_setup(tmp_path: Path) -> None:
    s = load_settings({"XBOT_HOME": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'xbot.sqlite3'}"
    assert s.publisher == "api"
    assert s.x_web_url == "https://x.com"
    assert s.x_api_url == "https://api.x.com"
    assert s.session_file == tmp_path / "session.json"
    assert s.warehouse_path == tmp_path / "warehouse.duckdb"
    assert s.alert_webhook_url is None


def test_postgres_urls_use_psycopg3() -> None:
    s = load_settings({"XBOT_DATABASE_URL": "postgresql://u:pw@db:5432/xbot"})
    assert s.database_url == "postgresql+psycopg://u:pw@db:5432/xbot"
    assert "pw" in s.secrets()
    assert "pw" not in repr(s) or "postgresql" not in repr(s).split("database_url")[0]


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"XBOT_DATABASE_URL": "not a url"}, "XBOT_DATABASE_URL"),
        ({"XBOT_DATABASE_URL": "mysql://root@localhost/x"}, "XBOT_DATABASE_URL"),
        ({"XBOT_DATABASE_URL": "postgresql://localhost"}, "XBOT_DATABASE_URL"),
        ({"XBOT_PUBLISHER": "carrier-pigeon"}, "XBOT_PUBLISHER"),
        ({"XBOT_X_WEB_URL": "ftp://x.com"}, "XBOT_X_WEB_URL"),
        ({"XBOT_X_API_URL": "api.x.com"}, "XBOT_X_API_URL"),
        ({"XBOT_ALERT_WEBHOOK_URL": "hooks"}, "XBOT_ALERT_WEBHOOK_URL"),
        ({"XBOT_BROWSER_HEADLESS": "maybe"}, "XBOT_BROWSER_HEADLESS"),
        ({"XBOT_BROWSER_MAX_CONTEXTS": "0"}, "XBOT_BROWSER_MAX_CONTEXTS"),
        ({"XBOT_BROWSER_MAX_CONTEXTS": "many"}, "XBOT_BROWSER_MAX_CONTEXTS"),
        ({"XBOT_BROWSER_CONTEXT_IDLE_S": "-5"}, "XBOT_BROWSER_CONTEXT_IDLE_S"),
        ({"XBOT_ACCOUNT": "bad name!"}, "XBOT_ACCOUNT"),
    ],
)
def test_malformed_values_fail_with_one_line_naming_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    message = str(err.value)
    assert names in message
    assert "\n" not in message


def test_repr_hides_tokens() -> None:
    s = load_settings({"XBOT_X_API_TOKEN": "tok-secret-123456", "XBOT_LLM_API_KEY": "sk-abcdefabcdefabcdef"})
    assert "tok-secret-123456" not in repr(s)
    assert "sk-abcdefabcdefabcdef" not in repr(s)
    assert set(s.secrets()) >= {"tok-secret-123456", "sk-abcdefabcdefabcdef"}


# --- one rule set for every family (issue 10): these failed before, when only core XBOT_* was checked ---


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"XBOT_LLM_TIMEOUT_S": "nan"}, "XBOT_LLM_TIMEOUT_S"),
        ({"XBOT_DAGSTER_PG_URL": "sqlite:///dagster.db"}, "XBOT_DAGSTER_PG_URL"),
        ({"XBOT_HEALTH_MIN_HEALTH": "lots"}, "XBOT_HEALTH_MIN_HEALTH"),
        ({"XBOT_HEALTH_MIN_HEALTH": "120"}, "XBOT_HEALTH_MIN_HEALTH"),  # a percentage above 100
        ({"XBOT_HEALTH_MIN_POSTING_SUCCESS": "-5"}, "XBOT_HEALTH_MIN_POSTING_SUCCESS"),
        ({"XBOT_HEALTH_MAX_ERROR_RATE": "inf"}, "XBOT_HEALTH_MAX_ERROR_RATE"),
        ({"XBOT_HEALTH_STUCK_POSTING_MINUTES": "0"}, "XBOT_HEALTH_STUCK_POSTING_MINUTES"),
        ({"XBOT_HEALTH_SPIKE_MIN_COUNT": "-1"}, "XBOT_HEALTH_SPIKE_MIN_COUNT"),  # a negative count
        ({"XBOT_HEALTH_SPIKE_MIN_COUNT": "2.5"}, "XBOT_HEALTH_SPIKE_MIN_COUNT"),
        ({"XBOT_LEARNING_USE_LLM": "maybe"}, "XBOT_LEARNING_USE_LLM"),  # was silently False
        ({"XBOT_LEARNING_POSTS_PER_DAY": "-3"}, "XBOT_LEARNING_POSTS_PER_DAY"),
        ({"XBOT_LEARNING_POSTS_PER_DAY": "six"}, "XBOT_LEARNING_POSTS_PER_DAY"),
        ({"XBOT_LEARNING_REWARD_SCALE": "nan"}, "XBOT_LEARNING_REWARD_SCALE"),
        ({"XBOT_LEARNING_SEED_EPSILON": "1.5"}, "XBOT_LEARNING_SEED_EPSILON"),
        ({"XBOT_LEARNING_POLICY": "greedy"}, "XBOT_LEARNING_POLICY"),
        ({"XBOT_LEARNING_REWARD_HORIZON": "2h"}, "XBOT_LEARNING_REWARD_HORIZON"),
        ({"XBOT_LEARNING_SIMILARITY_THRESHOLD": "high"}, "XBOT_LEARNING_SIMILARITY_THRESHOLD"),  # raised raw
        ({"XBOT_LEARNING_SIMILARITY_THRESHOLD": "1.2"}, "XBOT_LEARNING_SIMILARITY_THRESHOLD"),
    ],
)
def test_every_family_fails_with_one_line_naming_the_variable_and_what_it_expects(
    env: dict[str, str], name: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env)
    message = str(err.value)
    assert message.startswith(f"{name} must ") and "\n" not in message
    assert repr(next(iter(env.values()))) in message or name == "XBOT_DAGSTER_PG_URL"


def test_sections_come_from_their_variables(tmp_path: Path) -> None:
    s = load_settings(
        {
            "XBOT_HOME": str(tmp_path),
            "XBOT_HEALTH_MIN_HEALTH": "60",
            "XBOT_HEALTH_SPIKE_MIN_COUNT": " 9 ",
            "XBOT_LEARNING_POSTS_PER_DAY": "8",
            "XBOT_LEARNING_USE_LLM": "No",
            "XBOT_LEARNING_POLICY": "Uniform",
            "XBOT_LEARNING_SIMILARITY_THRESHOLD": "0.5",
            "XBOT_LEARNING_HALF_LIFE_DAYS": "",  # blank: unset, as before
        }
    )
    assert s.health == HealthThresholds(min_health=60.0, spike_min_count=9)
    assert s.learning.posts_per_day == 8 and s.learning.use_llm is False and s.learning.policy == "uniform"
    assert s.learning.gates.similarity_threshold == 0.5
    assert s.learning.half_life_days == LearningConfig().half_life_days
    defaults = load_settings({"XBOT_HOME": str(tmp_path)})
    assert defaults.health == HealthThresholds() and defaults.learning == LearningConfig()


def test_unknown_xbot_variables_are_reported_with_the_likely_name(caplog: pytest.LogCaptureFixture) -> None:
    env = {"XBOT_HEALTH_MIN_HEALTHH": "60", "XBOT_TEST_DATABASE": "sqlite", "XBOT_VENV": ".venv"}
    assert unknown_variables(env) == ["XBOT_HEALTH_MIN_HEALTHH"]
    with caplog.at_level(logging.WARNING, logger="xbot_pipeline.settings"):
        s = load_settings(env)
    assert s.health.min_health == HealthThresholds().min_health
    assert "XBOT_HEALTH_MIN_HEALTHH" in caplog.text and "did you mean XBOT_HEALTH_MIN_HEALTH?" in caplog.text


def test_dagster_pg_url_is_validated_and_its_password_redacted() -> None:
    s = load_settings({"XBOT_DAGSTER_PG_URL": "postgresql+psycopg2://dag:s3cret-pw@db:5432/dagster"})
    assert s.dagster_pg_url and "s3cret-pw" in s.secrets() and "s3cret-pw" not in repr(s)


def test_the_settings_module_does_not_import_sqlalchemy() -> None:
    source = Path(settings_module.__file__).read_text()
    assert not re.search(r"^\s*(import|from) sqlalchemy", source, re.MULTILINE)


def test_readme_configuration_table_lists_every_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    typo_example = {"XBOT_HEALTH_MIN_HEALTHH"}
    listed = set(re.findall(r"\b(XBOT_[A-Z0-9_]+)", section)) - typo_example
    core = {name for name in CoreEnv.model_fields}
    assert core <= listed, core - listed
    assert {"XBOT_HEALTH_", "XBOT_LEARNING_", "XBOT_LEARNING_SIMILARITY_THRESHOLD"} <= listed
    known = known_variables() | set(OTHER_VARIABLES) | {"XBOT_HEALTH_", "XBOT_LEARNING_"}
    assert listed <= known, listed - known
    assert "validated at start" in section


def test_the_loaders_raw_values_are_what_pydantic_settings_environment_source_would_read() -> None:
    """``_variables`` skips pydantic-settings' environment source (most of a command's settings time); that
    is exact only while every field is a plain scalar named after its variable. A field with an alias or
    a type the source would JSON-decode fails here."""
    from pydantic_settings import EnvSettingsSource
    from pydantic_settings.sources.utils import _annotation_is_complex

    env = {name: f"  value of {name} " for name in sorted(known_variables())[::3]}
    env.update({"XBOT_HEALTH_MIN_HEALTH": "   ", "XBOT_NOT_A_SETTING": "1", "PATH": "/bin"})
    variables = settings_module._variables(env)
    for model in settings_module.ENV_MODELS:
        for name, info in model.model_fields.items():
            assert info.alias is None and info.validation_alias is None, name
            assert not _annotation_is_complex(info.annotation, info.metadata), name

        class Source(EnvSettingsSource):
            def _load_env_vars(self) -> dict[str, str]:  # the same stripped mapping
                return variables

        mine = {name: variables[name] for name in model.model_fields if name in variables}
        assert Source(model)() == mine


def test_a_given_mapping_is_the_only_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_settings(env)`` never falls back to ``os.environ`` for a variable the mapping leaves out."""
    monkeypatch.setenv("XBOT_PUBLISHER", "browser")
    monkeypatch.setenv("XBOT_HEALTH_MIN_HEALTH", "not a number")
    s = load_settings({"XBOT_HOME": str(tmp_path)})
    assert s.publisher == "api" and s.health == HealthThresholds()
    with pytest.raises(SettingsError, match="XBOT_HEALTH_MIN_HEALTH"):
        load_settings()  # os.environ itself, as every command reads it
