"""WeCom crypto against the official vectors (platforms.md §5) and against wechatpy itself."""

from __future__ import annotations

import base64

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.platforms.base import CallbackRejectedError
from bot.platforms.wecom_crypto import WeComCrypto, aes_key_bytes, signature

# Vectors A, B, C: Tencent's official samples (sbzhu/weworkapi_python).
TOKEN_A = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KEY_A = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_A = "ww1436e0e65a779aee"
ECHOSTR_A = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
)
ENCRYPT_B = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGz"
    "BhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3J"
    "WcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQH"
    "E7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYu"
    "PDGOCI8jmnKiypE+"
)
PLAIN_B = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)
ENCRYPT_C = (
    "cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv"
    "3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/e"
    "QpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg"
    "4twjWp39KPfOdRte6P1T4JU="
)
PLAIN_C = (
    '{ "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": :mycreate", "CreateTime": 1409659813, '
    '"MsgType": "text", "Content": "hello", "MsgId": 4561255354251345929, "AgentID": 218}'
)
# Vector D: wechatpy's own tests.
TOKEN_D = "123456"
KEY_D = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_D = "wx49f0ab532d5d035a"
ECHOSTR_D = (
    "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
)
ENCRYPT_D = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTy"
    "eDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYy"
    "olBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWO"
    "MZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7ml"
    "sl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
PLAIN_D_OUT = (
    "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n"
    "<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n"
    "<CreateTime>1411525903</CreateTime>\n</xml>"
)
ENCRYPT_D_OUT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGs"
    "L8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSj"
    "PUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJv"
    "FurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFY"
    "FMNMpatF9XiKzHo3"
)
# Vector E: self-generated, empty ReceiveId (robots and AI bots).
PLAIN_E = '{"msgid":"x","chattype":"group","msgtype":"text","text":{"content":"@bot hi"}}'
ENCRYPT_E = (
    "/K4xJYsBwQssQzE/v2nbvGY8tcqTlgWHRFNRI6LRIrfGTw6lYDxp9vZRZp0XfWzconXz/hQaASSVgFXK9AD+4qOqxIzA"
    "ZqZa55IgCCqqtZWTeYC4sgGp/N1Wd6qsqQRuvbpbhxXid9qJO6w112HtIcuVR6vVFhP3dP8LyDp/ZDc="
)
FIXED_PREFIX = "1234567890123456"


def test_vector_a_url_verification() -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, CORP_A)
    sig = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert crypto.open(sig, "1476416373", "47744683", ECHOSTR_A) == "1288432023552776189"


def test_vector_b_decrypt_xml_message() -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, CORP_A)
    sig = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
    assert crypto.open(sig, "1476422779", "1597212914", ENCRYPT_B) == PLAIN_B


def test_vector_c_decrypt_json_sample_as_raw_string() -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, CORP_A)
    sig = "e3647471e395139e2308c1fa963f2d648a00b90e"
    assert crypto.open(sig, "1409659813", "1372623149", ENCRYPT_C) == PLAIN_C


def test_vector_d_wechatpy_check_decrypt_and_deterministic_encrypt() -> None:
    crypto = WeComCrypto(TOKEN_D, KEY_D, CORP_D)
    echo_sig = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    assert crypto.open(echo_sig, "1411443780", "437374425", ECHOSTR_D) == "5927782489442352469"
    plain = crypto.open(
        "74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", ENCRYPT_D
    )
    assert "<Content><![CDATA[test]]></Content>" in plain
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in plain
    assert "<MsgId>4363689963896700987</MsgId>" in plain
    encrypt, sig = crypto.seal(PLAIN_D_OUT, "1411525903", "461056294", FIXED_PREFIX)
    assert encrypt == ENCRYPT_D_OUT
    assert sig == "407518b7649e86ef23978113f92d27afa9296533"


def test_vector_e_empty_receive_id_both_ways() -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, "")
    sig = "aa08c724e6bba58ae6d137ac5d4ac90bf03ce08b"
    assert crypto.open(sig, "1700000000", "12345", ENCRYPT_E) == PLAIN_E
    assert crypto.seal(PLAIN_E, "1700000000", "12345", FIXED_PREFIX) == (ENCRYPT_E, sig)


def test_signature_is_sha1_of_the_sorted_strings() -> None:
    assert signature(TOKEN_A, "1476416373", "47744683", ECHOSTR_A) == (
        "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    )


def test_round_trip_with_wechatpy_in_both_directions() -> None:
    ours = WeComCrypto(TOKEN_A, KEY_A, "")
    theirs = WeChatCrypto(TOKEN_A, KEY_A, "")
    text = '{"msgtype":"stream","stream":{"content":"✅ 已签到：张三"}}'
    encrypt, sig = ours.seal(text, "1700000000", "99")
    assert theirs.check_signature(sig, "1700000000", "99", encrypt) == text
    assert ours.decrypt(encrypt) == text
    envelope = theirs.encrypt_message(text, "77", "1700000001")
    assert "<Encrypt>" in envelope
    assert ours.encrypt(text) != ours.encrypt(text)  # a fresh random prefix each time


def test_forged_signature_is_refused_with_403() -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, CORP_A)
    with pytest.raises(CallbackRejectedError) as err:
        crypto.open("0" * 40, "1476416373", "47744683", ECHOSTR_A)
    assert err.value.status == 403
    with pytest.raises(CallbackRejectedError):
        crypto.open("不是签名", "1476416373", "47744683", ECHOSTR_A)


@pytest.mark.parametrize(
    ("encrypt", "status"),
    [
        ("not base64 !!", 400),
        (base64.b64encode(b"short").decode(), 400),
        (base64.b64encode(b"x" * 33).decode(), 400),
        (base64.b64encode(base64.b64decode(ECHOSTR_A)[:-1] + b"\x00").decode(), 400),
    ],
)
def test_malformed_or_tampered_ciphertext_is_refused(encrypt: str, status: int) -> None:
    crypto = WeComCrypto(TOKEN_A, KEY_A, CORP_A)
    with pytest.raises(CallbackRejectedError) as err:
        crypto.decrypt(encrypt)
    assert err.value.status == status


def test_wrong_aes_key_is_refused() -> None:
    other = "a" * 43
    crypto = WeComCrypto(TOKEN_A, other, CORP_A)
    with pytest.raises(CallbackRejectedError) as err:
        crypto.decrypt(ECHOSTR_A)
    assert err.value.status in (400, 403)


def test_receive_id_must_match_exactly() -> None:
    # Vector A is addressed to the CorpID: a robot (ReceiveId "") must not accept it.
    with pytest.raises(CallbackRejectedError) as err:
        WeComCrypto(TOKEN_A, KEY_A, "").decrypt(ECHOSTR_A)
    assert err.value.status == 403
    with pytest.raises(CallbackRejectedError):
        WeComCrypto(TOKEN_A, KEY_A, CORP_A).decrypt(ENCRYPT_E)


@pytest.mark.parametrize("key", ["", "short", KEY_A + "A", "!" * 43])
def test_bad_encoding_aes_key_is_a_configuration_error(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        aes_key_bytes(key)


def test_repr_hides_the_secrets() -> None:
    assert TOKEN_A not in repr(WeComCrypto(TOKEN_A, KEY_A))
