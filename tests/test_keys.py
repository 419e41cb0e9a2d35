"""Key escaping (pure functions): every str maps to a field name MongoDB
reads literally, and back."""
import pytest

from pyramid_mongosession.keys import (
    escape_key,
    escaping_growth,
    hash_id,
    hashed_id_text,
    stored_id_from_text,
    unescape_key,
)

KEYS = ["plain", "", ".", "a.b", "$x", "x$", "%", "%2E", "%25", "\x00", "a.b$c%d\x00e",
        "%%", "ünï.cødé", "data"]


@pytest.mark.parametrize("key", KEYS)
def test_escaping_round_trips(key):
    assert unescape_key(escape_key(key)) == key


@pytest.mark.parametrize("key", KEYS)
def test_escaped_keys_hold_no_dot_dollar_or_nul_and_are_never_empty(key):
    field = escape_key(key)
    assert field and not {".", "$", "\x00"} & set(field)


def test_escaping_is_injective():
    assert len({escape_key(key) for key in KEYS}) == len(KEYS)


def test_plain_keys_are_stored_as_they_are():
    assert escape_key("cart") == "cart"


def test_hash_id_is_the_sha256_digest():
    assert hash_id("abc") == bytes.fromhex(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_a_hashed_id_reads_as_hex():
    assert hashed_id_text(hash_id("abc")) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert hashed_id_text("written-by-hand") == "written-by-hand"


def test_a_hashed_id_as_shown_reads_back_as_the_stored_id():
    stored = hash_id("an id")
    assert stored_id_from_text(hashed_id_text(stored)) == stored
    assert stored_id_from_text(hashed_id_text(stored).upper()) == stored
    for malformed in ("", "ab" * 31, "zz" * 32, " " + "ab" * 32, "ab" * 32 + "\n", None, 42):
        with pytest.raises(ValueError, match="64 hex digits"):
            stored_id_from_text(malformed)


@pytest.mark.parametrize("keys", [[], ["plain"], [""], ["a.b", "$c", "%", "\x00"], ["..", ""]])
def test_escaping_growth_is_what_escaping_adds(keys):
    escaped = sum(len(escape_key(key).encode()) - len(key.encode()) for key in keys)
    assert escaping_growth(keys) == escaped
