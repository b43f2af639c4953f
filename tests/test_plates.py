import pytest
from hypothesis import given
from hypothesis import strategies as st

from parking.plates import is_new_energy, parse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("沪A12345", "沪A12345"),
        ("沪a 12345", "沪A12345"),
        ("沪A·12345", "沪A12345"),
        ("沪A-12345", "沪A12345"),
        ("沪A.1234X", "沪A1234X"),
        ("京N8P8F", None),  # too short
        ("沪ＡＤ１２３４５", "沪AD12345"),  # full-width, as typed on some phones
        ("沪AD12345", "沪AD12345"),  # new-energy small car
        ("沪AFA1234", "沪AFA1234"),  # new-energy: letter in second place
        ("粤B12345D", "粤B12345D"),  # new-energy large vehicle
        ("苏E1234学", "苏E1234学"),  # driving-school plate
        ("粤Z1234港", "粤Z1234港"),  # Hong Kong cross-border
        ("沪AI2345", None),  # I is refused
        ("沪AO2345", None),  # O is refused
        ("沪I12345", None),  # issuing-authority letter I
        ("XA12345", None),  # not a province
        ("沪12345A", None),
        ("沪A1234", None),
        ("沪A1234567", None),
        ("沪AD1234A", None),  # new-energy needs digits at the end
        ("", None),
        ("沪A12345\x00", None),
        ("🚗A12345", None),
    ],
)
def test_plate_validation_and_normalisation(raw, expected):
    assert parse(raw) == expected


def test_new_energy_plates_have_eight_characters():
    assert is_new_energy(parse("沪AD12345"))
    assert not is_new_energy(parse("沪A12345"))


@given(st.text(max_size=40))
def test_any_text_is_either_a_clean_plate_or_refused(raw):
    plate = parse(raw)
    assert plate is None or (len(plate) in (7, 8) and plate == plate.upper() and " " not in plate)


def test_non_strings_are_refused():
    assert parse(12345) is None
    assert parse(None) is None
