from pathlib import Path

import pytest

from xbot_pipeline.settings import SettingsError, load_settings


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
