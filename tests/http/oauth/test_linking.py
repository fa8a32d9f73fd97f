"""Account linking: provider id first, verified email only, claims and refusals."""

from __future__ import annotations

from typing import Any

from crudauth import is_unusable_password
from oauth_support import callback_error, fake_provider_module, oidc_model, oidc_settings, sign_in
from support import csrf_headers, login


def identity(**changes: Any) -> Any:
    return fake_provider_module().Identity(**changes)


async def oauth_app(make_app: Any, fake: Any, **kwargs: Any) -> Any:
    return await make_app(oidc_model(), **oidc_settings(fake), **kwargs)


async def user_count(app: Any) -> int:
    from sqlalchemy import func, select

    async with app.sessionmaker() as db:
        return int((await db.execute(select(func.count()).select_from(app.model))).scalar_one())


async def test_verified_email_links_password_account(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    alice = await app.create_user(email="ada@example.com", username="ada", email_verified=True)
    fake.provider.queue(identity(email="Ada@Example.com"))
    async with app.client() as client:
        done = await sign_in(client)
        assert callback_error(done) is None
        assert (await client.get("/me")).json()["user_id"] == alice.id
    linked = await app.get_user(alice.id)
    assert linked.oidc_id == "fake-user-1"
    assert linked.oauth_provider == "oidc"
    assert not is_unusable_password(linked.hashed_password)
    assert await user_count(app) == 1
    async with app.client() as client:
        assert (await login(client, "ada")).status_code == 200


async def test_linking_unverified_account_claims_it(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    squatter = await app.create_user(email="ada@example.com", username="squatter")
    async with app.client() as squatter_browser:
        assert (await login(squatter_browser, "squatter")).status_code == 200
        squatter_session = squatter_browser.cookies["session_id"]
        fake.provider.queue(identity())
        async with app.client() as owner:
            done = await sign_in(owner)
            assert callback_error(done) is None
            assert (await owner.get("/me")).json()["user_id"] == squatter.id
        # Every credential of whoever registered the address first is gone.
        assert (await squatter_browser.get("/me")).status_code == 401
    assert await app.auth.sessions.get_session(squatter_session) is None
    claimed = await app.get_user(squatter.id)
    assert is_unusable_password(claimed.hashed_password)
    assert claimed.email_verified is True
    assert claimed.token_version == 1
    assert claimed.oidc_id == "fake-user-1"
    async with app.client() as client:
        assert (await login(client, "squatter")).status_code == 401


async def test_unverified_email_never_links(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    alice = await app.create_user(email="ada@example.com", username="ada", email_verified=True)
    fake.provider.queue(identity(email_verified=False))
    async with app.client() as client:
        done = await sign_in(client)
        assert callback_error(done) == "email_unverified"
        assert (await client.get("/me")).status_code == 401
    assert (await app.get_user(alice.id)).oidc_id is None


async def test_truthy_string_verified_is_unverified(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    fake.provider.queue(identity(email_verified="true"))
    async with app.client() as client:
        done = await sign_in(client)
    assert callback_error(done) == "email_unverified"
    assert await user_count(app) == 0


async def test_unverified_email_never_creates(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    fake.provider.queue(identity(email_verified=False))
    async with app.client() as client:
        done = await sign_in(client)
    assert callback_error(done) == "email_unverified"
    assert await user_count(app) == 0


async def test_missing_email_refused(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    fake.provider.queue(identity(email=None))
    async with app.client() as client:
        done = await sign_in(client)
    assert callback_error(done) == "email_missing"
    assert await user_count(app) == 0


async def test_provider_id_wins_over_email(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    linked = await app.create_user(
        email="old@example.com", username="linked", oidc_id="fake-user-1", email_verified=True
    )
    other = await app.create_user(email="ada@example.com", username="other", email_verified=True)
    fake.provider.queue(identity(email="ada@example.com"))
    async with app.client() as client:
        done = await sign_in(client)
        assert callback_error(done) is None
        assert (await client.get("/me")).json()["user_id"] == linked.id
    assert (await app.get_user(other.id)).oidc_id is None


async def test_returning_login_needs_no_verified_email(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    linked = await app.create_user(
        email="ada@example.com", username="ada", oidc_id="fake-user-1", email_verified=True
    )
    fake.provider.queue(identity(email=None, email_verified=False))
    async with app.client() as client:
        await sign_in(client)
        assert (await client.get("/me")).json()["user_id"] == linked.id


async def test_already_linked_account_refused(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    alice = await app.create_user(
        email="ada@example.com", username="ada", oidc_id="someone-else", email_verified=True
    )
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
        assert callback_error(done) == "provider_already_linked"
        assert (await client.get("/me")).status_code == 401
    assert (await app.get_user(alice.id)).oidc_id == "someone-else"
    assert await user_count(app) == 1


async def test_inactive_linked_account_refused(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    await app.create_user(
        email="ada@example.com", username="ada", oidc_id="fake-user-1", is_active=False
    )
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
        assert callback_error(done) == "account_inactive"
        assert (await client.get("/me")).status_code == 401


async def test_inactive_email_account_not_claimed(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    user = await app.create_user(email="ada@example.com", username="ada", is_active=False)
    fake.provider.queue(identity())
    async with app.client() as client:
        done = await sign_in(client)
    assert callback_error(done) == "account_inactive"
    unchanged = await app.get_user(user.id)
    assert unchanged.oidc_id is None
    assert not is_unusable_password(unchanged.hashed_password)
    assert unchanged.email_verified is False


async def test_username_collision_gets_suffix(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    await app.create_user(email="someone@example.com", username="ada")
    fake.provider.queue(identity())
    async with app.client() as client:
        await sign_in(client)
        assert (await client.get("/me")).json()["username"] == "ada_1"


async def test_oauth_only_account_sets_password(make_app: Any, fake: Any) -> None:
    app = await oauth_app(make_app, fake)
    fake.provider.queue(identity())
    async with app.client() as client:
        await sign_in(client)
        changed = await client.post(
            "/change-password",
            json={"current_password": "anything", "new_password": "A-new-password-1"},
            headers=csrf_headers(client),
        )
        assert changed.status_code == 400, changed.text
        assert "/set-password" in changed.json()["detail"]
        assert (await login(client, "ada", "anything")).status_code == 401
        set_password = await client.post(
            "/set-password",
            json={"new_password": "A-new-password-1"},
            headers=csrf_headers(client),
        )
        assert set_password.status_code == 200, set_password.text
    async with app.client() as client:
        assert (await login(client, "ada", "A-new-password-1")).status_code == 200
