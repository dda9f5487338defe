"""Amazon SNS message signatures, for SES events delivered through an SNS topic.

The signed text is ``"Key\\nValue\\n"`` over the message's fields in a fixed order, absent ones skipped:
Notification ``Message, MessageId, Subject, Timestamp, TopicArn, Type``; the subscription messages ``Message,
MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type``. ``SignatureVersion`` 1 is SHA1withRSA, 2 is
SHA256withRSA, with the certificate at ``SigningCertURL`` — which must be ``https``, end in ``.pem`` and be on
``sns.<region>.amazonaws.com`` (or ``.com.cn``), else anyone could sign with their own certificate (SNS's
verify-signature docs; aws-php-sns-message-validator and aws-js-sns-message-validator, whose host pattern this
is). Written by hand: AWS publishes no Python validator, and botocore has none.

The certificate is fetched through a :data:`CertificateFetcher`; :class:`SnsCertificates` is the real one
(HTTPS, a timeout, no redirects, a size cap, a cache by URL). Tests pass their own, which returns a certificate
they made.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from actionmail.feedback.events import iso
from actionmail.feedback.webhook import WebhookRejected

if TYPE_CHECKING:
    import requests

CertificateFetcher = Callable[[str], bytes]  # a SigningCertURL → the PEM certificate's bytes

_AWS_HOST = re.compile(r"sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?")
_NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
MESSAGE_TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")

# SNS's Timestamp is when the message was published, and retries keep it: the default policy retries for about
# a minute, custom ones for up to an hour. The MessageId dedupe guards replays inside the window.
MAX_AGE = dt.timedelta(hours=1)
MAX_AHEAD = dt.timedelta(minutes=5)


def aws_url(value: Any, *, pem: bool) -> str | None:
    """``value`` if it is an https URL on an SNS host (and, for certificates, a ``.pem`` path), else None."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        url = urllib.parse.urlsplit(value)
        port = url.port
    except ValueError:
        return None
    host = url.hostname or ""
    if url.scheme != "https" or url.username or url.password or port not in (None, 443):
        return None
    if not _AWS_HOST.fullmatch(host) or (pem and not url.path.endswith(".pem")):
        return None
    return value


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The canonical text SNS signed, from the JSON-decoded values."""
    keys = _NOTIFICATION_KEYS if message.get("Type") == "Notification" else _SUBSCRIPTION_KEYS
    parts: list[str] = []
    for key in keys:
        if key not in message:
            continue
        value = message[key]
        if not isinstance(value, str):
            raise WebhookRejected(400, f"SNS message: {key} is not a string")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode("utf-8", "surrogatepass")


def verify(message: Mapping[str, Any], fetch: CertificateFetcher, now: dt.datetime) -> None:
    """Check ``message``'s SNS signature and time; :class:`WebhookRejected` unless both hold."""
    version = message.get("SignatureVersion")
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()  # SNS's SignatureVersion 1 is SHA1withRSA (still the topics' default)
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise WebhookRejected(401, "SNS message: SignatureVersion is not 1 or 2")
    url = aws_url(message.get("SigningCertURL"), pem=True)
    if url is None:
        raise WebhookRejected(401, "SNS message: SigningCertURL is not an https .pem URL on sns.<region>.amazonaws.com")
    signature = message.get("Signature")
    try:
        raw_signature = base64.b64decode(signature if isinstance(signature, str) else "", validate=True)
    except (binascii.Error, ValueError):
        raw_signature = b""
    if not raw_signature:
        raise WebhookRejected(401, "SNS message: no Signature")
    signed = string_to_sign(message)
    certificate = _certificate(url, fetch)
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected(401, "SNS signing certificate: not an RSA key")
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise WebhookRejected(401, "SNS signing certificate: expired or not yet valid")
    try:
        key.verify(raw_signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise WebhookRejected(401, "SNS signature does not match") from None
    published = iso(message.get("Timestamp"))
    if published is None:
        raise WebhookRejected(400, "SNS message: no Timestamp")
    if published < now - MAX_AGE:
        raise WebhookRejected(401, "SNS message: Timestamp more than 1 h ago: replay or wrong clock")
    if published > now + MAX_AHEAD:
        raise WebhookRejected(401, "SNS message: Timestamp in the future: wrong clock")


def _certificate(url: str, fetch: CertificateFetcher) -> x509.Certificate:
    try:
        pem = fetch(url)
    except WebhookRejected:
        raise
    except Exception:  # the fetcher's own failure (network, HTTP status): SNS retries a 5xx
        raise WebhookRejected(503, "could not fetch the SNS signing certificate") from None
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WebhookRejected(401, "SNS signing certificate: not a PEM certificate") from None


class SnsCertificates:
    """The real :data:`CertificateFetcher`: GET over verified HTTPS, with a timeout, no redirects and at most
    64 KiB, kept by URL (SNS signs with the same certificate for months). It fetches the URL it is given:
    :func:`verify` has checked that it is on an SNS host before asking."""

    MAX_SIZE = 64 * 1024
    KEEP = 16

    def __init__(self, session: requests.Session | None = None, timeout: float = 10.0) -> None:
        if session is None:
            # Imported here, not with this module: reading saved payloads (`subscribers suppress`) and every
            # provider but SES's webhook need no HTTP client; only this fetcher does.
            import requests

            session = requests.Session()
        self._session = session
        self._timeout = timeout
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            if url in self._cache:
                self._cache.move_to_end(url)
                return self._cache[url]
        pem = self._fetch(url)
        with self._lock:
            self._cache[url] = pem
            while len(self._cache) > self.KEEP:
                self._cache.popitem(last=False)
        return pem

    def _fetch(self, url: str) -> bytes:
        with self._session.get(url, timeout=self._timeout, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise WebhookRejected(503, f"the SNS signing certificate's URL answered {response.status_code}")
            body = b""
            for chunk in response.iter_content(8192):
                body += chunk
                if len(body) > self.MAX_SIZE:
                    raise WebhookRejected(401, "SNS signing certificate: over 64 KiB")
        return body


def confirm_subscription(url: str, timeout: float = 10.0) -> None:
    """Confirm an SNS subscription by fetching its SubscribeURL (checked by :func:`actionmail.feedback.ses.read` to
    be https on an SNS host): until then SNS sends nothing else. :class:`WebhookRejected` (503, so SNS asks again)
    when SNS does not answer 200."""
    import requests  # as in SnsCertificates: only SES's webhook needs an HTTP client

    try:
        with requests.get(url, timeout=timeout, allow_redirects=False) as response:
            status = response.status_code
    except requests.RequestException as e:
        raise WebhookRejected(503, f"confirming the SNS subscription failed ({type(e).__name__})") from None
    if status != 200:
        raise WebhookRejected(503, f"confirming the SNS subscription: SNS answered {status}")
