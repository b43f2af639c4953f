"""Reset codes: issued by a manager (their garage's household members) or an admin, 8 digits, shown
once, hashed at rest, one use, 24 hours; /reset and POST /auth/reset set a new password and end
every session and token; a wrong code counts as a failed sign-in."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa

from parking import clock
from parking.audit.models import AuditEvent
from parking.auth.models import LoginLockout, ResetCode, User
from parking.notifications.models import Notification
from tests.conftest import T0

PASSWORD = "password123"  # tests.factories
NEW = "a-new-password-7"


def issue(client, factory, actor, person):
    return client.post(f"/api/v1/users/{person.id}/reset-code", headers=factory.headers(actor))


def reset(client, phone, code, password=NEW):
    return client.post("/api/v1/auth/reset", json={"phone": phone, "code": code, "password": password})


def sign_in(client, phone, password):
    return client.post("/api/v1/auth/token", json={"phone": phone, "password": password})


def csrf_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page)[1]


def test_a_manager_issues_a_code_and_the_resident_resets_ending_every_old_token(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    old = sign_in(client, resident.phone, PASSWORD).json["access_token"]

    issued = issue(client, factory, manager, resident)
    assert issued.status_code == 201
    assert issued.headers["Cache-Control"] == "no-store"
    code = issued.json["code"]
    assert re.fullmatch(r"\d{8}", code)
    assert issued.json["user_id"] == resident.id
    assert issued.json["expires_at"] == clock.as_utc(T0 + timedelta(hours=24)).isoformat()
    stored = db.session.scalar(sa.select(ResetCode))
    assert code not in stored.code_hash and len(stored.code_hash) == 64

    assert reset(client, resident.phone, code).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert sign_in(client, resident.phone, PASSWORD).status_code == 401
    assert sign_in(client, resident.phone, NEW).status_code == 200
    again = reset(client, resident.phone, code, "yet-another-pw")
    assert (again.status_code, again.json["error"]) == (401, "bad_reset_code")


def test_a_code_lasts_24_hours(client, factory):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    code = issue(client, factory, manager, resident).json["code"]
    clock.advance(timedelta(hours=24))
    assert reset(client, resident.phone, code).json["error"] == "bad_reset_code"


def test_a_new_code_replaces_the_older_unused_one(client, factory):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    first = issue(client, factory, manager, resident).json["code"]
    second = issue(client, factory, manager, resident).json["code"]
    if first != second:  # one in a hundred million they coincide
        assert reset(client, resident.phone, first).status_code == 401
    assert reset(client, resident.phone, second).status_code == 204


def test_who_may_issue_a_code(client, factory):
    garage, other = factory.garage(), factory.garage()
    manager, admin = factory.manager(garage), factory.admin()
    resident, _ = factory.resident(garage)
    stranger, _ = factory.resident(other)
    attendant, colleague = factory.attendant(garage), factory.manager(garage)
    assert issue(client, factory, manager, stranger).status_code == 403
    assert issue(client, factory, manager, attendant).status_code == 403  # not a household member
    assert issue(client, factory, manager, colleague).status_code == 403
    assert issue(client, factory, attendant, resident).status_code == 403
    assert issue(client, factory, resident, resident).status_code == 403
    assert issue(client, factory, manager, resident).status_code == 201
    for person in (stranger, attendant, colleague):
        assert issue(client, factory, admin, person).status_code == 201
    unknown = client.post("/api/v1/users/999999/reset-code", headers=factory.headers(admin))
    assert unknown.status_code == 404


def test_wrong_codes_count_as_failed_sign_ins_and_lock_the_phone(client, factory):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    code = issue(client, factory, manager, resident).json["code"]
    wrong = "00000000" if code != "00000000" else "11111111"
    answers = [reset(client, resident.phone, wrong) for _ in range(3)]
    assert {a.json["error"] for a in answers} == {"bad_reset_code"}
    assert [sign_in(client, resident.phone, "nope-nope").status_code for _ in range(2)] == [401, 403]
    locked = reset(client, resident.phone, code)
    assert (locked.status_code, locked.json["error"]) == (403, "login_locked")
    assert sign_in(client, resident.phone, PASSWORD).json["error"] == "login_locked"


def test_issuing_a_code_lifts_the_lock_out_so_the_code_can_be_used(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    for _ in range(5):
        sign_in(client, resident.phone, "nope-nope")
    code = issue(client, factory, manager, resident).json["code"]
    assert db.session.scalar(sa.select(LoginLockout.lifted_by_id)) == manager.id
    assert reset(client, resident.phone, code).status_code == 204


def test_an_unknown_phone_gets_the_same_answer(client, db):
    answer = reset(client, "13700000009", "12345678")
    assert (answer.status_code, answer.json["error"]) == (401, "bad_reset_code")
    assert "phone" not in answer.json.get("errors", {})


def test_bad_input_is_a_validation_error(client):
    for body in (
        {"phone": "13712345678", "code": "1234", "password": NEW},
        {"phone": "13712345678", "code": "12345678", "password": "short"},
    ):
        answer = client.post("/api/v1/auth/reset", json=body)
        assert (answer.status_code, answer.json["error"]) == (422, "validation_error")


def test_issue_and_reset_are_audited_without_the_code_or_the_phone(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    code = issue(client, factory, manager, resident).json["code"]
    reset(client, resident.phone, code)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(["user.reset_code_issued", "user.password_reset"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor_id, e.object_type, e.object_id, e.garage_id) for e in events] == [
        ("user.reset_code_issued", manager.id, "user", resident.id, garage.id),
        ("user.password_reset", resident.id, "user", resident.id, garage.id),
    ]
    dumped = json.dumps([[e.before, e.after, e.reason] for e in events])
    assert code not in dumped and resident.phone not in dumped and NEW not in dumped
    # A message never carries a reset code: the person is told that one was issued, never the code.
    notes = db.session.scalars(sa.select(Notification)).all()
    assert [(n.user_id, n.kind, n.params) for n in notes] == [(resident.id, "reset_code_issued", {})]


def test_the_openapi_document_names_the_paths(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/auth/reset"]
    assert "post" in paths["/api/v1/users/{user_id}/reset-code"]
    assert {"get", "delete"} <= set(paths["/api/v1/users/{user_id}/lockout"])


# -- pages ------------------------------------------------------------------------------------------


def page_sign_in(client, phone, password):
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": csrf_of(client, "/login")})


def test_the_manager_issues_a_code_on_the_people_page_and_sees_it_once(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    assert page_sign_in(client, manager.phone, PASSWORD).status_code == 302
    people = client.get("/manage/people").get_data(as_text=True)
    assert resident.name in people and "发重置码" in people
    shown = client.post(
        f"/manage/people/{resident.id}/reset-code", data={"csrf_token": csrf_of(client, "/manage/people")}
    )
    assert shown.status_code == 200
    assert "no-store" in shown.headers["Cache-Control"]
    digits = re.search(r'class="reset-code"[^>]*>(\d{4})&nbsp;(\d{4})<', shown.get_data(as_text=True))
    code = digits[1] + digits[2]
    assert code not in client.get("/manage/people").get_data(as_text=True)
    assert reset(client, resident.phone, code).status_code == 204


def test_another_garages_resident_gets_no_code_from_the_page(client, factory):
    garage, other = factory.garage(), factory.garage()
    manager, (stranger, _) = factory.manager(garage), factory.resident(other)
    page_sign_in(client, manager.phone, PASSWORD)
    answer = client.post(
        f"/manage/people/{stranger.id}/reset-code", data={"csrf_token": csrf_of(client, "/manage/people")}
    )
    assert answer.status_code == 302
    assert "您无权执行此操作" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_the_resident_resets_on_the_reset_page(client, factory, db):
    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    code = issue(client, factory, manager, resident).json["code"]
    login = client.get("/login").get_data(as_text=True)
    assert 'href="/reset"' in login and "忘记密码？" in login

    def post(code_typed, confirm=NEW):
        data = {"phone": resident.phone, "code": code_typed, "password": NEW, "confirm": confirm}
        return client.post("/reset", data={**data, "csrf_token": csrf_of(client, "/reset")})

    mismatch = post(code, confirm="something-else")
    assert mismatch.status_code == 422 and "两次输入的密码不一样" in mismatch.get_data(as_text=True)
    wrong = post("00000000" if code != "00000000" else "11111111")
    assert wrong.status_code == 401
    assert 'id="code-error"' in wrong.get_data(as_text=True) and "重置码不对" in wrong.get_data(as_text=True)
    done = post(code)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert "密码已经改好了" in client.get("/login").get_data(as_text=True)
    assert page_sign_in(client, resident.phone, NEW).status_code == 302
    assert db.session.get(User, resident.id).token_version == 2


def test_a_code_used_twice_at_once_sets_one_password(app, client, factory, db):
    from tests.concurrency_helpers import race

    garage = factory.garage()
    manager, (resident, _) = factory.manager(garage), factory.resident(garage)
    code = issue(client, factory, manager, resident).json["code"]
    phone = resident.phone
    db.session.commit()
    passwords = [f"new-password-{n}" for n in range(4)]
    answers = race(app, [lambda c, p=p: reset(c, phone, code, p) for p in passwords])
    assert sorted(a.status_code for a in answers) == [204, 401, 401, 401]
    winner = passwords[[a.status_code for a in answers].index(204)]
    assert sign_in(client, phone, winner).status_code == 200
    assert db.session.get(User, resident.id).token_version == 2
