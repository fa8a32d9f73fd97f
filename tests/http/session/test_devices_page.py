"""The account and device management guide, command by command, on three devices."""

from __future__ import annotations

from typing import Any

from crudauth import BearerTransport, SessionTransport
from support import csrf_headers, login

MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PASSWORD = "Correct-Horse-1"
NEW_PASSWORD = "a-new-strong-one-Passw0rd!"


def handle_for_os(rows: list[dict[str, Any]], word: str) -> str:
    return next(row["session_id"] for row in rows if word in row["device"]["os"].lower())


async def test_devices_page_commands(make_app: Any) -> None:
    test_app = await make_app(
        transports=[SessionTransport(management_routes=True), BearerTransport(refresh="body")]
    )
    await test_app.create_user()
    mac = test_app.client(headers={"User-Agent": MAC})
    windows = test_app.client(headers={"User-Agent": WINDOWS})
    iphone = test_app.client(headers={"User-Agent": IPHONE})
    for device in (mac, windows, iphone):
        assert (await login(device)).status_code == 200

    # GET /sessions: one row per device, parsed, with one current row.
    rows = (await mac.get("/sessions")).json()
    assert len(rows) == 3
    current = next(row for row in rows if row["current"])
    assert current["device"]["browser"] == "Chrome"
    assert current["device"]["os"] == "macOS"
    assert current["device"]["is_pc"] is True
    windows_id = handle_for_os(rows, "windows")
    iphone_id = handle_for_os(rows, "ios")

    # DELETE /sessions/<id> with the CSRF header revokes one device.
    response = await mac.delete(f"/sessions/{windows_id}", headers=csrf_headers(mac))
    assert response.status_code == 200, response.text
    assert (await windows.get("/me")).status_code == 401

    # POST /logout-all?keep_current=true signs out the other devices.
    response = await mac.post("/logout-all?keep_current=true", headers=csrf_headers(mac))
    assert response.status_code == 200, response.text
    assert response.json() == {"detail": "Signed out of all sessions.", "revoked": 1}
    assert (await iphone.get("/me")).status_code == 401
    assert (await mac.get("/me")).status_code == 200
    missing = await mac.delete(f"/sessions/{iphone_id}", headers=csrf_headers(mac))
    assert missing.status_code == 404, missing.text

    # POST /csrf/refresh re-mints a lost CSRF cookie without a CSRF header.
    mac.cookies.delete("csrf_token")
    response = await mac.post("/csrf/refresh")
    assert response.status_code == 200, response.text
    assert mac.cookies["csrf_token"] == response.json()["csrf_token"]

    # POST /change-password keeps the caller and ends the other sessions.
    await login(iphone)
    response = await mac.post(
        "/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=csrf_headers(mac),
    )
    assert response.status_code == 200, response.text
    assert (await mac.get("/me")).status_code == 200
    assert (await iphone.get("/me")).status_code == 401

    # Revoking your own current session clears the cookies on the way out.
    rows = (await mac.get("/sessions")).json()
    own = next(row["id"] for row in rows if row["current"])
    response = await mac.delete(f"/sessions/{own}", headers=csrf_headers(mac))
    assert response.status_code == 200, response.text
    assert any("Max-Age=0" in h for h in response.headers.get_list("set-cookie"))
    assert (await mac.get("/me")).status_code == 401

    # POST /logout-all without keep_current signs the caller out too.
    assert (await login(mac, password=NEW_PASSWORD)).status_code == 200
    response = await mac.post("/logout-all", headers=csrf_headers(mac))
    assert response.status_code == 200, response.text
    assert response.json()["revoked"] == 1
    assert (await mac.get("/me")).status_code == 401
    for device in (mac, windows, iphone):
        await device.aclose()
