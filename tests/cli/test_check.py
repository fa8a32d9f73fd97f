"""``crudauth check``: each finding, the passing configuration and the JSON report."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from crudauth import CRUDAuth

from .conftest import Cli


def finding_ids(cli: Cli, *argv: str) -> tuple[int, set[str]]:
    result = cli.run("check", "--json", *argv)
    report = result.json()
    assert report["ok"] is (result.exit_code == 0)
    return result.exit_code, {problem["id"] for problem in report["problems"]}


def test_check_passes_production_style(cli: Cli) -> None:
    result = cli.run("check")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "no problems found" in result.stdout


def test_check_flags_placeholder_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_SECRET_KEY", "change-me")

    code, ids = finding_ids(cli)

    assert code == 1
    assert "secret-key-short" in ids
    assert "secret-key-placeholder" in ids


def test_check_never_prints_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "dev-secret-key-0123456789-0123456789-xyz"
    monkeypatch.setenv("CLI_TEST_SECRET_KEY", key)

    text = cli.run("check")
    report = cli.run("check", "--json")

    assert text.exit_code == 1
    for part in (key, "dev", "0123456789"):
        assert part not in text.stdout + text.stderr
        assert part not in report.stdout


def test_check_flags_long_placeholder_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_SECRET_KEY", "dev-secret-key-0123456789-0123456789-xyz")

    code, ids = finding_ids(cli)

    assert code == 1
    assert ids == {"secret-key-placeholder"}


def test_check_flags_repeated_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_SECRET_KEY", "ab" * 32)

    _, ids = finding_ids(cli)

    assert ids == {"secret-key-placeholder"}


def test_check_flags_key_per_start(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLI_TEST_RANDOM_KEY", "1")

    _, ids = finding_ids(cli)
    _, ids_without_reload = finding_ids(cli, "--no-reload")

    assert ids == {"secret-key-per-start"}
    assert ids_without_reload == set()


def test_check_flags_mfa_key_per_start(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    keys: dict[int, str] = {}

    def mfa(self: CRUDAuth) -> Any:
        # Each CRUDAuth object gets its own key, as a key made at import time would.
        key = keys.setdefault(id(self), f"fernet-key-{len(keys)}")
        return SimpleNamespace(config=SimpleNamespace(encryption_keys=[key]))

    monkeypatch.setattr(CRUDAuth, "mfa", property(mfa))

    _, ids = finding_ids(cli)

    assert ids == {"mfa-key-per-start"}


def test_check_flags_proxy_without_hops(cli: Cli) -> None:
    code, ids = finding_ids(cli, "--behind-proxy")

    assert code == 1
    assert ids == {"proxy-hops"}


def test_check_flags_missing_initialize(cli: Cli) -> None:
    _, ids = finding_ids(cli, "--asgi-app", "app_without_initialize")

    assert ids == {"lifespan-initialize"}


def test_check_skip_silences_finding(cli: Cli) -> None:
    code, ids = finding_ids(cli, "--behind-proxy", "--skip", "proxy-hops")

    assert code == 0
    assert ids == set()


def test_check_reads_optional_features(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recovery, OAuth and MFA objects are read by attribute name only."""
    service = SimpleNamespace(
        channels=[SimpleNamespace(sends_email=False)],
        config=SimpleNamespace(sender=None, frontend_url="http://app.example.com"),
    )
    provider = SimpleNamespace(redirect_uri="http://app.example.com/oauth/google/callback")
    local = SimpleNamespace(redirect_uri="http://localhost:8000/oauth/github/callback")

    def mfa(self: CRUDAuth) -> Any:
        return SimpleNamespace(encryption_keys=[self.runtime.secret_key])

    monkeypatch.setattr(CRUDAuth, "emails", property(lambda self: service))
    monkeypatch.setattr(
        CRUDAuth, "oauth_providers", property(lambda self: {"google": provider, "github": local})
    )
    monkeypatch.setattr(CRUDAuth, "mfa", property(mfa))

    result = cli.run("check", "--json")
    problems = result.json()["problems"]
    ids = [problem["id"] for problem in problems]

    assert result.exit_code == 1
    assert "email-sender-missing" in ids
    assert "mfa-key-reused" in ids
    assert ids.count("plain-http-url") == 2
    assert not any("localhost" in problem["problem"] for problem in problems)
    assert all(problem["fix"] for problem in problems)


def test_check_memory_stores_with_workers(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CRUDAuth, "_memory_parts", lambda self: ["sessions/CSRF"])
    monkeypatch.setenv("WEB_CONCURRENCY", "4")

    result = cli.run("check", "--json")
    problem = result.json()["problems"][0]

    assert problem["id"] == "memory-stores"
    assert "4 workers" in problem["problem"]
