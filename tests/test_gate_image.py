"""`POST /gate/scan-image`: the QR code of a pass read from a picture, then the same scan as
`POST /gate/scan`; pictures without a code, non-pictures and oversized uploads are clean 4xx."""

from __future__ import annotations

import io
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from parking import clock
from parking.bookings.models import Booking
from parking.gate.models import Scan
from tests.gate_helpers import booked, token_of
from tests.test_bad_input import assert_error_shape

URL = "/api/v1/gate/scan-image"


def render_png(token: str) -> bytes:
    from parking.passes.services import render_png as render  # after the app has mapped every model

    return render(token)


def _photo(png: bytes) -> bytes:
    """The pass pasted, smaller and slightly turned, onto a bigger noisy RGB picture, saved as JPEG:
    roughly what a phone held over a printed pass gives."""
    rng = random.Random(7)
    width, height = 1600, 1200
    noise = bytes(rng.randrange(90, 200) for _ in range(width * height * 3))
    photo = Image.frombytes("RGB", (width, height), noise)
    code = Image.open(io.BytesIO(png)).convert("RGB")
    code = code.resize((code.width * 3 // 4, code.height * 3 // 4)).rotate(7, expand=True, fillcolor=(255, 255, 255))
    photo.paste(code, (430, 260))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _blank() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (255, 255, 255)).save(out, format="PNG")
    return out.getvalue()


def _post(client, headers, garage_id, image: bytes, key="img-1", direction="in", filename="pass.jpg"):
    fields = {"garage_id": str(garage_id), "direction": direction, "idempotency_key": key}
    fields["image"] = FileStorage(io.BytesIO(image), filename=filename, content_type="application/octet-stream")
    # Encoded in memory: the test client would spool a large body to a temporary file it never closes.
    boundary, body = encode_multipart(fields)
    return client.post(URL, data=body, headers=headers, content_type=f"multipart/form-data; boundary={boundary}")


def _scans(db):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Scan))


@pytest.fixture
def night(client, factory):
    s = booked(factory)
    token = token_of(client, factory, s.resident, s.booking.id)
    clock.set_now(s.window.opens_at + timedelta(minutes=5))
    return s, token


def test_a_real_pass_png_is_read_and_admits_the_car(client, factory, db, night):
    s, token = night
    response = _post(client, factory.headers(s.attendant), s.garage.id, render_png(token), filename="pass.png")
    assert response.status_code == 200, response.json
    assert (response.json["result"], response.json["booking"]) == ("accepted", s.booking.id)
    db.session.expire_all()
    assert db.session.get(Booking, s.booking.id).inside is True
    again = _post(client, factory.headers(s.attendant), s.garage.id, render_png(token), filename="pass.png")
    assert again.json == response.json  # a re-sent photo is the same scan
    assert _scans(db) == 1


@pytest.mark.one_database  # the decoder's part; a real pass PNG admits the car on both databases above
def test_a_photo_of_the_pass_in_a_noisy_picture_is_read(client, factory, db, night):
    s, token = night
    response = _post(client, factory.headers(s.attendant), s.garage.id, _photo(render_png(token)))
    assert (response.status_code, response.json["result"]) == (200, "accepted")
    out = _post(
        client, factory.headers(s.attendant), s.garage.id, _photo(render_png(token)), key="img-2", direction="out"
    )
    assert (out.json["result"], out.json["direction"]) == ("accepted", "out")


@pytest.mark.parametrize(
    ("image", "status", "reason"),
    [
        (_blank(), 422, "no_code_found"),
        (b"", 422, "not_an_image"),
        (random.Random(3).randbytes(5000), 422, "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 422, "not_an_image"),  # a PNG signature, then nothing
    ],
    ids=["blank-picture", "empty-file", "random-bytes", "truncated-png"],
)
def test_pictures_without_a_pass_are_a_clean_422_and_record_nothing(client, factory, db, night, image, status, reason):
    s, _ = night
    response = _post(client, factory.headers(s.attendant), s.garage.id, image)
    assert_error_shape(response, status)
    assert response.json["error"] == reason
    assert _scans(db) == 0


def test_an_oversized_upload_is_a_413_of_the_one_shape(client, factory, db, night):
    s, _ = night
    response = _post(client, factory.headers(s.attendant), s.garage.id, b"\xff" * (8 * 1024 * 1024 + 1))
    assert_error_shape(response, 413)
    assert response.json["error"] == "payload_too_large"
    assert _scans(db) == 0


def test_a_huge_picture_is_refused_not_decoded(client, factory, db, night):
    s, _ = night
    out = io.BytesIO()
    Image.new("1", (10000, 10000)).save(out, format="PNG")  # 100 megapixels, a few kB
    response = _post(client, factory.headers(s.attendant), s.garage.id, out.getvalue(), filename="big.png")
    assert_error_shape(response, 422)
    assert response.json["error"] in ("image_too_large", "not_an_image")


def test_bad_forms_and_strangers_get_4xx(client, factory, db, night):
    s, token = night
    headers = factory.headers(s.attendant)
    no_file = client.post(
        URL, data={"garage_id": str(s.garage.id), "direction": "in", "idempotency_key": "k"}, headers=headers
    )
    assert_error_shape(no_file, 422)
    bad_direction = _post(client, headers, s.garage.id, render_png(token), direction="sideways")
    assert_error_shape(bad_direction, 422)
    as_json = client.post(URL, json={"garage_id": s.garage.id}, headers=headers)
    assert_error_shape(as_json, 422)
    stranger = factory.attendant(factory.garage())
    assert_error_shape(_post(client, factory.headers(stranger), s.garage.id, render_png(token)), 403)
    assert_error_shape(_post(client, {}, s.garage.id, render_png(token)), 401)
    assert _scans(db) == 0
