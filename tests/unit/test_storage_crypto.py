"""Key ring, sealing and padding, without a database."""

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from storage import KeyRing, UnreadableRecord, WrongMasterKey, pad, unpad
from storage.crypto import (
    NONCE_BYTES,
    LookupKeys,
    associated_data,
    bucket_size,
    key_id_of,
    seal,
    unseal,
)


@given(st.binary(max_size=20_000))
def test_pad_unpad_round_trip(plaintext: bytes) -> None:
    padded = pad(plaintext)
    assert unpad(padded) == plaintext
    assert len(padded) == bucket_size(len(plaintext) + 4)


@given(st.binary(max_size=20_000))
def test_padded_length_is_a_bucket(plaintext: bytes) -> None:
    n = len(pad(plaintext))
    assert n >= 64
    if n <= 4096:
        assert n & (n - 1) == 0  # a power of two
    else:
        assert n % 4096 == 0


@pytest.mark.parametrize(
    ("size", "bucket"),
    [
        (0, 64),
        (64, 64),
        (65, 128),
        (128, 128),
        (129, 256),
        (4096, 4096),
        (4097, 8192),
        (9000, 12288),
    ],
)
def test_bucket_sizes(size: int, bucket: int) -> None:
    assert bucket_size(size) == bucket


@pytest.mark.parametrize(
    "bad", [b"", b"\x00\x00", b"\x00\x00\x00\x09abc", b"\x00\x00\x00\x01a\x01"]
)
def test_unpad_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(ValueError):
        unpad(bad)


def test_short_answers_seal_to_identical_lengths() -> None:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    ad = associated_data("referrals", "answers", "r1", "p1", 1)
    lengths = {len(seal(aead, answer, ad)) for answer in (b"no", b"yes", b"unsure")}
    assert lengths == {NONCE_BYTES + 64 + 16}


def test_same_plaintext_seals_with_different_nonces() -> None:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    ad = associated_data("drafts", "state", "p1", "p1", 1)
    sealed = [seal(aead, b"same", ad) for _ in range(20)]
    assert len({s[:NONCE_BYTES] for s in sealed}) == 20
    assert all(unseal(aead, s, ad) == b"same" for s in sealed)


@pytest.mark.parametrize(
    "other",
    [
        ("drafts", "other", "p1", "p1", 1),
        ("people", "state", "p1", "p1", 1),
        ("drafts", "state", "p2", "p1", 1),
        ("drafts", "state", "p1", "p2", 1),
        ("drafts", "state", "p1", "p1", 2),
    ],
)
def test_sealed_value_only_opens_in_its_place(other: tuple[str, str, str, str, int]) -> None:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    sealed = seal(aead, b"secret", associated_data("drafts", "state", "p1", "p1", 1))
    with pytest.raises(UnreadableRecord):
        unseal(aead, sealed, associated_data(*other))


def test_associated_data_is_unambiguous() -> None:
    assert associated_data("a", "bc", "r", "p", 1) != associated_data("ab", "c", "r", "p", 1)


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33, "x" * 32])
def test_keyring_wants_32_bytes(bad: bytes) -> None:
    with pytest.raises(ValueError):
        KeyRing(bad)
    with pytest.raises(ValueError):
        KeyRing(KeyRing.generate(), retired=[bad])


def test_generate_gives_distinct_32_byte_keys() -> None:
    keys = {KeyRing.generate() for _ in range(10)}
    assert len(keys) == 10
    assert all(len(k) == 32 for k in keys)


def test_key_id_is_stable_short_and_not_the_key() -> None:
    master = KeyRing.generate()
    ring = KeyRing(master)
    assert ring.key_id == KeyRing(master).key_id == key_id_of(master)
    assert len(ring.key_id) == 16
    assert ring.key_id not in master.hex()
    assert ring.key_id != KeyRing(KeyRing.generate()).key_id
    assert master.hex() not in repr(ring)


def test_wrap_unwrap_and_wrong_keys() -> None:
    ring = KeyRing(KeyRing.generate())
    data_key = KeyRing.generate()
    key_id, wrapped = ring.wrap(data_key, b"person|1")
    assert key_id == ring.key_id
    assert data_key not in wrapped
    assert ring.unwrap(key_id, wrapped, b"person|1") == data_key
    with pytest.raises(WrongMasterKey):
        ring.unwrap(key_id, wrapped, b"person|2")  # a key wrapped for someone else
    with pytest.raises(WrongMasterKey):
        KeyRing(KeyRing.generate()).unwrap(key_id, wrapped, b"person|1")
    tampered = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    with pytest.raises(WrongMasterKey):
        ring.unwrap(key_id, tampered, b"person|1")


def test_retired_key_unwraps_but_new_wraps_use_current() -> None:
    old, new = KeyRing.generate(), KeyRing.generate()
    key_id, wrapped = KeyRing(old).wrap(b"k" * 32, b"c")
    rotating = KeyRing(new, retired=[old])
    assert rotating.unwrap(key_id, wrapped, b"c") == b"k" * 32
    assert rotating.wrap(b"k" * 32, b"c")[0] == KeyRing(new).key_id


def test_lookup_tags_are_keyed_and_purpose_separated() -> None:
    secret = KeyRing.generate()
    lookup = LookupKeys(secret)
    assert lookup.telegram(42) == LookupKeys(secret).telegram(42)
    assert lookup.telegram(42) != LookupKeys(KeyRing.generate()).telegram(42)
    assert lookup.telegram(42) != lookup.telegram(43)
    assert lookup.telegram(42) != lookup.programme("42")
