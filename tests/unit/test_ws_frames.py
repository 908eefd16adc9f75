"""The stand-in's RFC 6455 framing: the accept key, frames of every length encoding, masking, refusals."""

from __future__ import annotations

import io

import pytest

from gaorg.live.feed_ws import ws_url
from gaorg.testing.hyperliquid_ws import (
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    ProtocolError,
    accept_key,
    apply_mask,
    encode_frame,
    read_frame,
)


def test_the_accept_key_is_the_one_of_rfc_6455():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455, section 1.3


@pytest.mark.parametrize("n", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_masked_frame_reads_back_for_every_length_encoding(n):
    payload = bytes(i % 251 for i in range(n))
    raw = encode_frame(OP_TEXT, payload, mask=b"\x01\x82\x7f\xee")
    assert raw[1] & 0x80  # the mask bit
    assert raw[1] & 0x7F == (n if n < 126 else 126 if n < 65536 else 127)
    fin, op, got = read_frame(io.BytesIO(raw).read)
    assert (fin, op, got) == (True, OP_TEXT, payload)


def test_the_rfc_example_of_a_masked_hello():
    raw = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])  # RFC 6455, section 5.7
    assert read_frame(io.BytesIO(raw).read) == (True, OP_TEXT, b"Hello")
    assert encode_frame(OP_TEXT, b"Hello") == bytes([0x81, 0x05]) + b"Hello"  # the server's, unmasked


def test_masking_twice_gives_the_data_back():
    data = b"the quick brown fox"
    assert apply_mask(data, b"abcd") != data
    assert apply_mask(apply_mask(data, b"abcd"), b"abcd") == data


def test_unmasked_client_frames_reserved_bits_and_long_control_frames_are_refused():
    with pytest.raises(ProtocolError, match="masked"):
        read_frame(io.BytesIO(encode_frame(OP_TEXT, b"x")).read)
    rsv = bytearray(encode_frame(OP_TEXT, b"x", mask=b"abcd"))
    rsv[0] |= 0x40  # permessage-deflate's bit: no extension was agreed
    with pytest.raises(ProtocolError, match="reserved"):
        read_frame(io.BytesIO(bytes(rsv)).read)
    with pytest.raises(ProtocolError, match="control"):
        read_frame(io.BytesIO(encode_frame(OP_PING, b"p" * 126, mask=b"abcd")).read)
    with pytest.raises(ProtocolError, match="control"):
        read_frame(io.BytesIO(encode_frame(OP_CLOSE, b"", mask=b"abcd", fin=False)).read)


def test_a_truncated_frame_is_the_end_of_the_connection():
    raw = encode_frame(OP_TEXT, b"hello", mask=b"abcd")
    with pytest.raises(EOFError):
        read_frame(io.BytesIO(raw[:-2]).read)
    with pytest.raises(EOFError):
        read_frame(io.BytesIO(b"").read)


def test_the_websocket_url_goes_with_the_rest_url():
    assert ws_url("http://127.0.0.1:8123") == "ws://127.0.0.1:8123/ws"
    assert ws_url("https://api.example.org/") == "wss://api.example.org/ws"
