"""WeCom message crypto (WXBizMsgCrypt): SHA1 signatures and AES-256-CBC message framing.

The AES primitive is wechatpy's; the framing is checked here more strictly than wechatpy does
(PKCS#7 padding, declared length, exact ReceiveId, strict UTF-8), so that a wrong key or a
tampered ciphertext is refused instead of decoding to garbage. Robots and AI bots use the
empty ReceiveId; self-built apps use the CorpID.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

from wechatpy.crypto.base import WeChatCipher

from bot.platforms.base import CallbackRejectedError

BLOCK = 32  # WeCom pads to 32-byte blocks, not AES's 16
RANDOM_BYTES = 16


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """Decode a 43-character EncodingAESKey into its 32 key bytes, or raise ValueError."""
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """Return msg_signature: SHA1 over the sorted, concatenated four strings (lower-case hex)."""
    parts = sorted(p.encode("utf-8") for p in (token, timestamp, nonce, encrypt))
    return hashlib.sha1(b"".join(parts)).hexdigest()  # noqa: S324 - the protocol's choice


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts with one Token / EncodingAESKey / ReceiveId."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        if not token:
            raise ValueError("WeCom token must not be empty")
        self._token = token
        self._key = aes_key_bytes(encoding_aes_key)
        # Building the cipher costs more than using it; each call still gets its own context.
        self._cipher = WeChatCipher(self._key)
        self._receive_id = receive_id.encode("utf-8")

    def __repr__(self) -> str:
        return "WeComCrypto(<secret>)"

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """Return the msg_signature for these values."""
        return signature(self._token, timestamp, nonce, encrypt)

    def verify(self, given: str, timestamp: str, nonce: str, encrypt: str) -> None:
        """Raise CallbackRejectedError(403) unless `given` is the right signature."""
        expected = self.sign(timestamp, nonce, encrypt).encode("ascii")
        if not hmac.compare_digest(expected, given.encode("utf-8")):
            raise CallbackRejectedError(403, "bad msg_signature")

    def decrypt(self, encrypt: str) -> str:
        """Decrypt a base64 ciphertext; raise CallbackRejectedError(400/403) if it is not ours."""
        try:
            raw = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CallbackRejectedError(400, "ciphertext is not base64") from exc
        if len(raw) < BLOCK or len(raw) % 16:
            raise CallbackRejectedError(400, "ciphertext has a bad length")
        plain: bytes = self._cipher.decrypt(raw)
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejectedError(400, "cannot decrypt (wrong EncodingAESKey?)")
        body = plain[RANDOM_BYTES:-pad]
        if len(body) < 4:
            raise CallbackRejectedError(400, "decrypted message is truncated")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise CallbackRejectedError(400, "cannot decrypt (wrong EncodingAESKey?)")
        message, receive_id = body[4 : 4 + length], body[4 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CallbackRejectedError(403, "ReceiveId does not match")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CallbackRejectedError(400, "decrypted message is not UTF-8") from exc

    def open(self, given: str, timestamp: str, nonce: str, encrypt: str) -> str:
        """Verify the signature, then decrypt."""
        self.verify(given, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt(self, plaintext: str, random_prefix: str | None = None) -> str:
        """Encrypt `plaintext` for WeCom; `random_prefix` (16 chars) only for fixed test vectors."""
        # 16 random alphanumeric characters, as the reference SDKs send (hex: one syscall).
        prefix = random_prefix or secrets.token_hex(RANDOM_BYTES // 2)
        head = prefix.encode("utf-8")
        if len(head) != RANDOM_BYTES:
            raise ValueError("random prefix must be 16 bytes")
        message = plaintext.encode("utf-8")
        framed = head + struct.pack(">I", len(message)) + message + self._receive_id
        pad = BLOCK - len(framed) % BLOCK
        cipher: bytes = self._cipher.encrypt(framed + bytes([pad]) * pad)
        return base64.b64encode(cipher).decode("ascii")

    def seal(
        self, plaintext: str, timestamp: str, nonce: str, random_prefix: str | None = None
    ) -> tuple[str, str]:
        """Encrypt and sign: return (encrypt, msg_signature)."""
        encrypt = self.encrypt(plaintext, random_prefix)
        return encrypt, self.sign(timestamp, nonce, encrypt)
