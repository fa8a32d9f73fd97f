"""OAuth ``state`` works only in the browser that started the flow, for one provider, once."""

from __future__ import annotations

from typing import Any

import pytest

from oauth_support import BASE_URL
from provider_mocks import authorize, callback, google_profile, provider_app
from security_support import cookie_attributes, cookie_headers, plant

MODES = ["redirect", "json"]


def assert_rejected(response: Any, mode: str, code: str) -> None:
    if mode == "redirect":
        assert response.status_code == 307, response.text
        assert response.headers["location"] == f"{BASE_URL}?error={code}"
    else:
        assert response.status_code == 400, response.text
        assert "detail" in response.json()
    assert cookie_headers(response, "session_id") == []


async def mocked_app(make_app: Any, mode: str) -> Any:
    test_app = await provider_app(make_app, mode=mode)
    await test_app.create_user(
        email="erin@example.com", username="erin", password=None, google_id="google-1"
    )
    test_app.extras["providers"].queue("google", google_profile("erin@example.com", verified=True))
    return test_app


@pytest.mark.parametrize("mode", MODES)
async def test_state_from_another_browser_is_rejected(make_app: Any, mode: str) -> None:
    test_app = await mocked_app(make_app, mode)
    async with test_app.client() as browser_x, test_app.client() as browser_y:
        _started, state = await authorize(browser_x, "google")
        stolen = await callback(browser_y, "google", state)
        assert_rejected(stolen, mode, "invalid_state")
        assert (await browser_y.get("/me")).status_code == 401
        # The rejection left the owner's state alone: browser X still signs in.
        done = await callback(browser_x, "google", state)
        assert done.status_code in (200, 307), done.text
        assert cookie_headers(done, "session_id")
        assert (await browser_x.get("/me")).status_code == 200


@pytest.mark.parametrize("mode", MODES)
async def test_state_is_used_once(make_app: Any, mode: str) -> None:
    test_app = await mocked_app(make_app, mode)
    providers = test_app.extras["providers"]
    async with test_app.client() as browser_x:
        _started, state = await authorize(browser_x, "google")
        first = await callback(browser_x, "google", state)
        assert first.status_code in (200, 307), first.text
        assert cookie_headers(first, "session_id")
        [cleared] = cookie_headers(first, "oauth_state")
        assert cookie_attributes(cleared)["max-age"] == "0"

        browser_x.cookies.delete("session_id")
        # As sent right away a second time, with the browser still holding the cookie.
        plant(browser_x, state, name="oauth_state")
        providers.queue("google", google_profile("erin@example.com", verified=True))
        replay = await callback(browser_x, "google", state)
        assert_rejected(replay, mode, "invalid_state")
        assert (await browser_x.get("/me")).status_code == 401
    assert providers.exchanges == 1


@pytest.mark.parametrize("mode", MODES)
async def test_state_of_another_provider_is_rejected(make_app: Any, mode: str) -> None:
    test_app = await mocked_app(make_app, mode)
    async with test_app.client() as browser_x:
        _started, github_state = await authorize(browser_x, "github")
        crossed = await callback(browser_x, "google", github_state)
        assert_rejected(crossed, mode, "invalid_state")
        assert (await browser_x.get("/me")).status_code == 401
    assert test_app.extras["providers"].exchanges == 0


@pytest.mark.parametrize("mode", MODES)
async def test_callback_without_state_fails(make_app: Any, mode: str) -> None:
    test_app = await mocked_app(make_app, mode)
    async with test_app.client() as browser_x:
        await authorize(browser_x, "google")
        missing = await callback(browser_x, "google", None)
    assert_rejected(missing, mode, "oauth_failed")
    if mode == "json":
        assert missing.json() == {"detail": "oauth_failed"}
    assert test_app.extras["providers"].exchanges == 0


async def test_state_cookie_flags(make_app: Any) -> None:
    test_app = await mocked_app(make_app, "redirect")
    async with test_app.client() as browser_x:
        started, state = await authorize(browser_x, "google")
    [header] = cookie_headers(started, "oauth_state")
    attributes = cookie_attributes(header)
    assert attributes["value"] == state
    assert "httponly" in attributes
    assert "secure" in attributes
    assert attributes["samesite"] == "lax"
    assert 0 < int(attributes["max-age"]) <= 30 * 60
