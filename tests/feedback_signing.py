"""Signing webhook requests as each provider does, with keys made here: HMAC secrets, an ECDSA P-256 key pair,
a Svix secret, and a certificate authority whose certificate signs SNS messages. Nothing here is a real secret."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from actionmail.feedback import WebhookRequest

NOW = dt.datetime(2026, 12, 4, 18, 30, 0, tzinfo=dt.UTC)


def request(body: bytes | str, headers: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
            now: dt.datetime = NOW) -> WebhookRequest:  # fmt: skip
    raw = body.encode() if isinstance(body, str) else body
    return WebhookRequest(headers=dict(headers or {}), body=raw, now=now, secrets=dict(env or {}))


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# --- Mailgun ---------------------------------------------------------------------------------------------------

MAILGUN_KEY = "key-" + secrets.token_hex(16)


def mailgun_body(event_data: Mapping[str, Any], key: str = MAILGUN_KEY, at: dt.datetime = NOW,
                 token: str | None = None) -> bytes:  # fmt: skip
    timestamp = str(int(at.timestamp()))
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    return json.dumps(
        {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}
    ).encode()


# --- SendGrid --------------------------------------------------------------------------------------------------


@functools.cache
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sendgrid_public_key(pem: bool = False, key: ec.EllipticCurvePrivateKey | None = None) -> str:
    public = (key or sendgrid_key()).public_key()
    if pem:
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()  # as SendGrid shows it: MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE…


def sendgrid_headers(
    body: bytes, at: dt.datetime = NOW, key: ec.EllipticCurvePrivateKey | None = None
) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    signature = (key or sendgrid_key()).sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


# --- Svix (Resend) ---------------------------------------------------------------------------------------------

SVIX_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def svix_headers(body: bytes, secret: str = SVIX_SECRET, at: dt.datetime = NOW, message_id: str | None = None,
                 ) -> dict[str, str]:  # fmt: skip
    message_id = message_id or "msg_" + secrets.token_urlsafe(18)
    timestamp = str(int(at.timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "svix-id": message_id,
        "svix-timestamp": timestamp,
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }


# --- SNS -------------------------------------------------------------------------------------------------------

CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:actionmail-ses-events"


def x509_name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@functools.cache
def sns_authority() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A certificate authority of our own, and the signing certificate it issued (as SNS's is issued)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start, end = NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=365)
    ca = (
        x509.CertificateBuilder().subject_name(x509_name("Test SNS CA")).issuer_name(x509_name("Test SNS CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder().subject_name(x509_name("sns.amazonaws.com")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return key, cert


def sns_pem() -> bytes:
    return sns_authority()[1].public_bytes(serialization.Encoding.PEM)


class Certificates:
    """A certificate fetcher that serves our certificate and records each URL asked for."""

    def __init__(self, pem: bytes | None = None) -> None:
        self.pem = pem if pem is not None else sns_pem()
        self.asked: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.asked.append(url)
        return self.pem


def sns_sign(message: dict[str, Any], version: str = "1", key: rsa.RSAPrivateKey | None = None) -> dict[str, Any]:
    """``message`` with SignatureVersion, SigningCertURL and Signature, signed as SNS signs."""
    message = {**message, "SignatureVersion": version, "SigningCertURL": message.get("SigningCertURL", CERT_URL)}
    keys = (
        ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if message["Type"] == "Notification"
        else ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    text = "".join(f"{k}\n{message[k]}\n" for k in keys if k in message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = (key or sns_authority()[0]).sign(text.encode("utf-8", "surrogatepass"), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def sns_notification(ses_event: Mapping[str, Any] | str, at: dt.datetime = NOW, message_id: str | None = None,
                     topic: str = TOPIC) -> dict[str, Any]:  # fmt: skip
    return {
        "Type": "Notification",
        "MessageId": message_id or "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Message": ses_event if isinstance(ses_event, str) else json.dumps(ses_event),
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":x",
    }
