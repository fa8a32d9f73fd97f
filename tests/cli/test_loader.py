"""Loading the app: import paths, ``CRUDAUTH_APP``, usage errors and the lifespan."""

from __future__ import annotations

import pytest

from crudauth.cli import main

from .conftest import APP_MODULE, HERE, Cli


def test_environment_variable_names_app(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRUDAUTH_APP", f"{APP_MODULE}:auth")
    monkeypatch.chdir(HERE)

    code = main(["lockout", "show", "--ip", "192.0.2.1"])

    assert code == 0


@pytest.mark.parametrize(
    "import_path",
    ["no_colon", "no_such_module_xyz:auth", f"{APP_MODULE}:missing", f"{APP_MODULE}:engine"],
)
def test_bad_import_path_is_usage(cli: Cli, import_path: str) -> None:
    code = main(["--auth", import_path, "--app-dir", str(HERE), "users", "show", "alice"])

    assert code == 2


def test_missing_app_is_usage(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["users", "show", "alice"])

    assert code == 2
    assert "CRUDAUTH_APP" in capsys.readouterr().err


def test_options_after_command(cli: Cli) -> None:
    cli.create_user("alice")

    result = cli.run("users", "show", "alice", "--json")

    assert result.exit_code == 0
    assert result.json()["username"] == "alice"


def test_error_as_json(cli: Cli) -> None:
    result = cli.run("users", "show", "nobody", "--json")

    assert result.exit_code == 1
    assert "no user" in result.json()["error"]


def test_no_lifespan_initializes_auth(cli: Cli) -> None:
    cli.create_user("alice")

    result = cli.run("--no-lifespan", "users", "show", "alice")

    assert result.exit_code == 0, result.stderr


def test_lifespan_without_initialize_still_works(cli: Cli) -> None:
    cli.create_user("alice")

    result = cli.run("sessions", "list", "alice", "--asgi-app", "app_without_initialize")

    assert result.exit_code == 0, result.stderr
    assert "did not call auth.initialize()" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["users"],
        ["users", "create"],
        ["users", "set-password"],
        ["users", "deactivate"],
        ["users", "activate"],
        ["users", "show"],
        ["sessions", "list"],
        ["sessions", "revoke"],
        ["lockout", "show"],
        ["lockout", "clear"],
        ["store", "purge-expired"],
        ["check"],
    ],
)
def test_help_on_every_command(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*argv, "--help"])

    assert code == 0
    assert f"usage: crudauth {' '.join(argv)}".rstrip() in capsys.readouterr().out
