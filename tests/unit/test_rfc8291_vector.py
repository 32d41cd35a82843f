"""RFC 8291 Appendix A: the published example push message, byte for byte.

A fixed vector pins down what a round trip through our own code cannot: that the encryption
pywebpush uses (http_ece's aes128gcm) and the decryption our push peer does are the
standard's, not merely each other's inverse. Every intermediate value the RFC lists is
recomputed too, so a wrong constant here would show up as a mismatch rather than pass.
"""

import base64
import hashlib
import hmac

import http_ece
from comeback.domain.push import normalise_subscription
from comeback.local.push_peer import Subscriber
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PLAINTEXT = b"When I grow up, I want to be a watermelon"
PLAINTEXT_B64 = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AS_PUBLIC = (
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
)
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH_SECRET = "BTBZMqHH6r4Tts7J_aSIgg"
ECDH_SECRET = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"
IKM = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg"
PRK = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc"
CEK = "oIhVW04MRdy2XN9CiKLxTg"
NONCE = "4h_95klXJ5E_qnoN"
MESSAGE = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInm"
    "YWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQe"
    "xSgSxsj_Qulcy4a-fN"
)


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_key(scalar: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64(scalar), "big"), ec.SECP256R1())


def public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def test_the_example_message_decrypts_with_the_receiver_keys():
    # Given the user agent's private key and auth secret from Appendix A
    receiver = private_key(UA_PRIVATE)

    # When http_ece decrypts the example message (the sender key comes from its header)
    plaintext = http_ece.decrypt(
        unb64(MESSAGE), private_key=receiver, auth_secret=unb64(AUTH_SECRET), version="aes128gcm"
    )

    # Then it is exactly the example plaintext
    assert plaintext == PLAINTEXT
    assert unb64(PLAINTEXT_B64) == PLAINTEXT


def test_encrypting_with_the_example_salt_and_sender_key_gives_the_example_message():
    ciphertext = http_ece.encrypt(
        PLAINTEXT,
        salt=unb64(SALT),
        private_key=private_key(AS_PRIVATE),
        dh=unb64(UA_PUBLIC),
        auth_secret=unb64(AUTH_SECRET),
        version="aes128gcm",
    )
    assert ciphertext == unb64(MESSAGE)


def test_the_vector_is_self_consistent_step_by_step():
    # The key pairs belong together and the message header carries what section 4 says
    sender, receiver = private_key(AS_PRIVATE), private_key(UA_PRIVATE)
    assert public_bytes(sender) == unb64(AS_PUBLIC)
    assert public_bytes(receiver) == unb64(UA_PUBLIC)
    message = unb64(MESSAGE)
    assert message[:16] == unb64(SALT)
    assert int.from_bytes(message[16:20], "big") == 4096
    assert message[20] == 65 and message[21:86] == unb64(AS_PUBLIC)

    # Each derived value of section 3.4 and Appendix A
    ecdh = receiver.exchange(ec.ECDH(), sender.public_key())
    assert ecdh == unb64(ECDH_SECRET)
    key_info = b"WebPush: info\x00" + unb64(UA_PUBLIC) + unb64(AS_PUBLIC)
    ikm = HKDF(hashes.SHA256(), 32, salt=unb64(AUTH_SECRET), info=key_info).derive(ecdh)
    assert ikm == unb64(IKM)
    assert hmac.new(unb64(SALT), ikm, hashlib.sha256).digest() == unb64(PRK)
    cek_info, nonce_info = b"Content-Encoding: aes128gcm\x00", b"Content-Encoding: nonce\x00"
    assert HKDF(hashes.SHA256(), 16, salt=unb64(SALT), info=cek_info).derive(ikm) == unb64(CEK)
    nonce = HKDF(hashes.SHA256(), 12, salt=unb64(SALT), info=nonce_info).derive(ikm)
    assert nonce == unb64(NONCE)


def test_our_push_peer_and_subscription_rules_accept_the_example():
    # The peer's browser side reads the standard's message, not only pywebpush's output
    subscription = normalise_subscription(
        "http://127.0.0.1:8080/push/rfc8291", UA_PUBLIC, AUTH_SECRET, allow_loopback=True
    )
    browser = Subscriber(
        endpoint_id="rfc8291",
        subscription=subscription,
        private_key=private_key(UA_PRIVATE),
        auth_secret=unb64(AUTH_SECRET),
    )
    assert browser.decrypt(unb64(MESSAGE)) == PLAINTEXT
    assert (subscription.p256dh, subscription.auth) == (UA_PUBLIC, AUTH_SECRET)
