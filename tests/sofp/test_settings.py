"""Settings come from the environment; production settings pass `check --deploy`."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Lq2p9Vz4Rk8Tn1Wd6Yh3Jc5Gm0Bf2Sa7Ue9Io4Pl8Kj1Hg6Fd3Zx5Cv0Bn7Mq2Ws9",
    "ALLOWED_HOSTS": "sofp.example.com",
}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE", "CELERY_", "CACHE_"))
    }
    clean.update(env)
    clean["SOFP_VAR_DIR"] = env.get("SOFP_VAR_DIR", str(ROOT / "var" / "test-settings"))
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def _setting(name: str, env: dict[str, str]) -> str:
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','sofp.settings');"
        f"django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_settings_pass_check_deploy_without_warnings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_false_without_secret_key_refuses_to_start():
    result = _run(["manage.py", "check"], {"DEBUG": "false", "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_local_defaults_are_sqlite_wal_and_filesystem_broker(tmp_path):
    env = {"SOFP_VAR_DIR": str(tmp_path)}
    db = _setting("DATABASES['default']", env)
    assert "sqlite3" in db and "journal_mode=WAL" in db and "IMMEDIATE" in db
    assert _setting("CELERY_BROKER_URL", env) == "'filesystem://'"
    assert (tmp_path / "celery" / "out").is_dir()
    assert _setting("DEBUG", env) == "True"


def test_the_filesystem_broker_keeps_every_file_under_var(tmp_path):
    """kombu's default control folder is ./control: it would land in the working tree."""
    options = _setting("CELERY_BROKER_TRANSPORT_OPTIONS", {"SOFP_VAR_DIR": str(tmp_path)})
    folders = [v for k, v in ast.literal_eval(options).items() if "folder" in k]
    assert len(folders) == 4 and all(f.startswith(str(tmp_path)) for f in folders), options
    assert "control_folder" in options and (tmp_path / "celery" / "control").is_dir()


@pytest.mark.parametrize(
    ("name", "value", "setting", "expected"),
    [
        (
            "DATABASE_URL",
            "postgres://u:p@db.example:5432/sofp",
            "DATABASES['default']['HOST']",
            "'db.example'",
        ),
        (
            "CELERY_BROKER_URL",
            "redis://redis:6379/0",
            "CELERY_BROKER_URL",
            "'redis://redis:6379/0'",
        ),
        (
            "EMAIL_BACKEND",
            "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_BACKEND",
            "'django.core.mail.backends.smtp.EmailBackend'",
        ),
        ("EMAIL_FILE_PATH", "/tmp/sofp-mail", "EMAIL_FILE_PATH", "'/tmp/sofp-mail'"),
        ("TIME_ZONE", "America/Chicago", "TIME_ZONE", "'America/Chicago'"),
        ("ALLOWED_HOSTS", "a.example,b.example", "ALLOWED_HOSTS", "['a.example', 'b.example']"),
    ],
)
def test_settings_read_the_environment(name, value, setting, expected):
    assert _setting(setting, {name: value}) == expected
