"""A user-verified passkey assertion completes the MFA step of a password login."""

from __future__ import annotations

from typing import Any

from crudauth import AuthHooks, BearerTransport, SessionTransport
from mfa_support import FrozenClock, enrol, mfa_config, mfa_model
from passkey_support import SoftAuthenticator, b64url, register_passkey, sign_in_with_sudo
from support import BOB, login


async def mfa_app(make_passkey_app: Any, **kwargs: Any) -> tuple[Any, SoftAuthenticator]:
    """Return an app where Alice has a passkey and then enrolled TOTP."""
    clock = FrozenClock()
    kwargs.setdefault("transports", [SessionTransport(), BearerTransport(refresh="body")])
    test_app = await make_passkey_app(model=mfa_model(), mfa=mfa_config(), **kwargs)
    test_app.auth.mfa.clock = clock
    user = await test_app.create_user()
    authenticator = SoftAuthenticator()
    async with test_app.client() as client:
        await sign_in_with_sudo(client)
        await register_passkey(client, authenticator)
    await enrol(test_app, user.id, clock)
    return test_app, authenticator


async def start_challenge(client: Any) -> str:
    response = await login(client)
    assert response.status_code == 200, response.text
    assert response.json()["mfa_required"] is True
    return str(response.json()["challenge"])


async def answer(client: Any, challenge: str, authenticator: SoftAuthenticator, **kw: Any) -> Any:
    options = await client.post("/passkeys/mfa/options", json={"challenge": challenge})
    assert options.status_code == 200, options.text
    assertion = authenticator.get(options.json(), **kw)
    return await client.post(
        "/passkeys/mfa/verify", json={"challenge": challenge, "credential": assertion}
    )


async def test_passkey_completes_the_mfa_challenge(make_passkey_app: Any) -> None:
    logins: list[Any] = []
    hooks = AuthHooks(on_after_login=lambda user, **kw: logins.append(user["username"]))
    test_app, authenticator = await mfa_app(make_passkey_app, hooks=hooks)
    logins.clear()
    async with test_app.client() as client:
        challenge = await start_challenge(client)
        options = await client.post("/passkeys/mfa/options", json={"challenge": challenge})
        response = await client.post(
            "/passkeys/mfa/verify",
            json={"challenge": challenge, "credential": authenticator.get(options.json())},
        )
        protected = await client.get("/protected")
        replay = await client.post("/mfa/verify", json={"challenge": challenge, "code": "000000"})

    allowed = options.json()["allowCredentials"]
    assert [entry["id"] for entry in allowed] == [
        b64url(authenticator.credentials[0].credential_id)
    ]
    assert options.json()["userVerification"] == "required"
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "alice"
    assert protected.status_code == 200, protected.text
    assert logins == ["alice"]
    # The MFA challenge is spent: it cannot be finished a second time.
    assert replay.status_code == 400, replay.text


async def test_mfa_passkey_without_user_verification_fails(make_passkey_app: Any) -> None:
    test_app, authenticator = await mfa_app(make_passkey_app)
    authenticator.user_verified = False
    async with test_app.client() as client:
        challenge = await start_challenge(client)
        response = await answer(client, challenge, authenticator)

    assert response.status_code == 401, response.text
    assert "session_id" not in client.cookies


async def test_mfa_step_rejects_another_users_passkey(make_passkey_app: Any) -> None:
    test_app, _alices = await mfa_app(make_passkey_app)
    await test_app.create_user(
        email=BOB["email"], username=BOB["username"], password=BOB["password"]
    )
    bobs = SoftAuthenticator()
    async with test_app.client() as bob:
        await sign_in_with_sudo(bob, BOB["username"], BOB["password"])
        await register_passkey(bob, bobs)
    async with test_app.client() as client:
        challenge = await start_challenge(client)
        response = await answer(client, challenge, bobs)

    assert response.status_code == 401, response.text
    assert "session_id" not in client.cookies


async def test_mfa_options_for_unknown_challenge_is_400(make_passkey_app: Any) -> None:
    test_app, _authenticator = await mfa_app(make_passkey_app)
    async with test_app.client() as client:
        response = await client.post("/passkeys/mfa/options", json={"challenge": "nope"})

    assert response.status_code == 400, response.text


async def test_mfa_passkey_answer_is_bound_to_its_challenge(make_passkey_app: Any) -> None:
    test_app, authenticator = await mfa_app(make_passkey_app)
    async with test_app.client() as client:
        first = await start_challenge(client)
        second = await start_challenge(client)
        options = await client.post("/passkeys/mfa/options", json={"challenge": first})
        response = await client.post(
            "/passkeys/mfa/verify",
            json={"challenge": second, "credential": authenticator.get(options.json())},
        )

    assert response.status_code == 400, response.text


async def test_login_challenge_cannot_finish_mfa(make_passkey_app: Any) -> None:
    test_app, authenticator = await mfa_app(make_passkey_app)
    async with test_app.client() as client:
        challenge = await start_challenge(client)
        options = await client.post("/passkeys/login/options")
        response = await client.post(
            "/passkeys/mfa/verify",
            json={"challenge": challenge, "credential": authenticator.get(options.json())},
        )

    assert response.status_code == 400, response.text
