"""SES events through SNS: messages signed (SignatureVersion 1 and 2) by a certificate our own CA issued, fetched
through an injected fetcher; the subscription handshake; forged, altered, stale and foreign messages; and the
real certificate fetcher against a local HTTPS server."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from actionmail.feedback import Kind, NotConfigured, SnsCertificates, WebhookRejected, read_webhook
from tests.feedback_signing import (
    CERT_URL,
    NOW,
    TOPIC,
    Certificates,
    basic,
    request,
    sns_authority,
    sns_notification,
    sns_pem,
    sns_sign,
    x509_name,
)

ENV = {"ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN": f"arn:aws:sns:eu-west-1:123456789012:other, {TOPIC}"}
MAIL = {
    "timestamp": "2026-12-04T18:29:02.012Z",
    "source": "Seattle Indivisible <action@seattleindivisible.com>",
    "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/seattleindivisible.com",
    "sendingAccountId": "123456789012",
    "messageId": "0100018c3d6a7b2e-5f6a7b8c-1d2e-4f3a-9b8c-7d6e5f4a3b2c-000000",
    "destination": ["maria.garcia@example.org", "olga.nowak@example.net"],
    "headersTruncated": False,
    "headers": [{"name": "X-Actionmail-Tag", "value": "2019-08-01"}],
    "tags": {"ses:configuration-set": ["actionmail"], "send_id": ["17"], "tag": ["2019-08-01"]},
}
# SES's event-publishing examples (Bounce, Complaint, Delivery, Send, Reject, DeliveryDelay, Subscription).
BOUNCE = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {"emailAddress": "maria.garcia@example.org", "action": "failed", "status": "5.1.1",
             "diagnosticCode": "smtp; 550 5.1.1 user unknown"},
            {"emailAddress": "Olga Nowak <olga.nowak@example.net>", "action": "failed", "status": "5.1.1",
             "diagnosticCode": "smtp; 550 5.1.1 no such mailbox"},
        ],
        "timestamp": "2026-12-04T18:29:05.669Z",
        "feedbackId": "0100018c3d6a7b2e-aaaa-000000",
        "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
    },
    "mail": MAIL,
}  # fmt: skip


def read(message: dict[str, Any], env: dict[str, str] | None = None, headers: dict[str, str] | None = None,
         fetcher: Certificates | None = None, now: dt.datetime = NOW) -> Any:  # fmt: skip
    signed = request(json.dumps(message), headers, ENV if env is None else env, now=now)
    return read_webhook("ses", signed, certificates=fetcher or Certificates())


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_bounce_for_two_recipients(version: str) -> None:
    fetcher = Certificates()
    result = read(sns_sign(sns_notification(BOUNCE), version), fetcher=fetcher)
    assert fetcher.asked == [CERT_URL]
    assert result.topic == TOPIC
    assert [(e.kind, e.event, e.recipient, e.reason) for e in result.events] == [
        (Kind.HARD_BOUNCE, "Bounce/Permanent", "maria.garcia@example.org", "smtp; 550 5.1.1 user unknown"),
        (Kind.HARD_BOUNCE, "Bounce/Permanent", "olga.nowak@example.net", "smtp; 550 5.1.1 no such mailbox"),
    ]
    first, second = result.events
    assert (first.at, first.message_id, first.send_id, first.tag) == (
        dt.datetime(2026, 12, 4, 18, 29, 5, 669000, tzinfo=dt.UTC),
        "0100018c3d6a7b2e-5f6a7b8c-1d2e-4f3a-9b8c-7d6e5f4a3b2c-000000",
        "17",
        "2019-08-01",
    )
    assert first.dedupe_key != second.dedupe_key
    again = read(sns_sign(sns_notification(BOUNCE), version)).events  # SNS retries keep the MessageId
    assert [e.dedupe_key for e in again] == [first.dedupe_key, second.dedupe_key]


@pytest.mark.parametrize(
    ("event", "kinds"),
    [
        ({"eventType": "Bounce", "bounce": {**BOUNCE["bounce"], "bounceType": "Transient"}}, [Kind.SOFT_BOUNCE] * 2),
        ({"notificationType": "Bounce", "bounce": {**BOUNCE["bounce"], "bounceType": "Undetermined"}}, [Kind.SOFT_BOUNCE] * 2),
        (
            {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"emailAddress": "wei.chen@example.net"}],
             "timestamp": "2026-12-04T18:40:00.000Z", "complaintFeedbackType": "abuse"}},
            [Kind.COMPLAINT],
        ),
        (
            {"eventType": "Delivery", "delivery": {"timestamp": "2026-12-04T18:29:03.000Z", "processingTimeMillis": 546,
             "recipients": ["maria.garcia@example.org"], "smtpResponse": "250 ok dirdel"}},
            [Kind.DELIVERED],
        ),
        ({"eventType": "Send", "send": {}}, [Kind.ACCEPTED, Kind.ACCEPTED]),
        ({"eventType": "Reject", "reject": {"reason": "Bad content"}}, [Kind.FAILED, Kind.FAILED]),
        (
            {"eventType": "DeliveryDelay", "deliveryDelay": {"timestamp": "2026-12-04T18:35:00.000Z", "delayType": "MailboxFull",
             "delayedRecipients": [{"emailAddress": "maria.garcia@example.org", "status": "4.2.2"}]}},
            [Kind.DEFERRED],
        ),
        (
            {"eventType": "Subscription", "subscription": {"contactList": "members", "timestamp": "2026-12-04T18:35:00.000Z",
             "source": "UnsubscribeFromHeader", "newTopicPreferences": {"unsubscribeAll": True}}},
            [Kind.UNSUBSCRIBE, Kind.UNSUBSCRIBE],
        ),
        ({"eventType": "Open", "open": {}}, [Kind.OTHER, Kind.OTHER]),
    ],
)  # fmt: skip
def test_ses_event_types(event: dict[str, Any], kinds: list[Kind]) -> None:
    events = read(sns_sign(sns_notification({**event, "mail": MAIL}))).events
    assert [e.kind for e in events] == kinds


def test_the_subscription_is_confirmed_by_the_caller() -> None:
    message = sns_sign({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=2336412f37",
        "Timestamp": "2026-12-04T18:29:00.000Z",
    })  # fmt: skip
    result = read(message)
    assert (result.subscribe_url, result.topic, result.events) == (message["SubscribeURL"], TOPIC, [])
    # Only an https URL on SNS's own hosts is handed back to be fetched.
    for url in (
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://attacker.example/?x",
        "https://sns.us-east-1.amazonaws.com.attacker.example/",
    ):
        with pytest.raises(WebhookRejected) as raised:
            read(sns_sign({**message, "SubscribeURL": url}))
        assert raised.value.status == 400
    # A subscription from someone else's topic is neither confirmed nor read, nor its certificate fetched.
    fetcher = Certificates()
    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign({**message, "TopicArn": "arn:aws:sns:us-east-1:999999999999:theirs"}), fetcher=fetcher)
    assert fetcher.asked == []
    assert (raised.value.status, raised.value.message) == (
        403,
        "SNS topic not accepted here: add it to ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN",
    )


def test_a_message_signed_by_another_key_is_refused() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign(sns_notification(BOUNCE), key=other))
    assert (raised.value.status, raised.value.message) == (401, "SNS signature does not match")


@pytest.mark.parametrize("field", ["Message", "MessageId", "Timestamp", "TopicArn", "Subject"])
def test_an_altered_message_is_refused(field: str) -> None:
    message = sns_sign({**sns_notification(BOUNCE), "Subject": "Amazon SES Email Event Notification"})
    read(message)
    altered = {**message, field: message[field] + "0"}
    if field == "Message":
        altered[field] = json.dumps({**BOUNCE, "bounce": {}})
    with pytest.raises(WebhookRejected) as raised:
        read(altered, env={"ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN": f"{TOPIC} {altered['TopicArn']}"})
    assert raised.value.status in (400, 401)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com/cert.txt",
        "https://attacker.example/SimpleNotificationService.pem",
        "https://sns.us-east-1.amazonaws.com.attacker.example/cert.pem",
        "https://sns.us-east-1.amazonaws.com@attacker.example/cert.pem",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
        "https://s3.amazonaws.com/cert.pem",
        "https://sns.x.amazonaws.com/cert.pem",
        "https://[::1/cert.pem",
    ],
)
def test_certificates_only_from_sns_hosts(url: str) -> None:
    fetcher = Certificates()
    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign({**sns_notification(BOUNCE), "SigningCertURL": url}), fetcher=fetcher)
    assert raised.value.status == 401
    assert fetcher.asked == []


def test_china_regions_are_sns_hosts() -> None:
    url = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem"
    assert read(sns_sign({**sns_notification(BOUNCE), "SigningCertURL": url})).events


def test_stale_and_future_messages_are_refused() -> None:
    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign(sns_notification(BOUNCE, at=NOW - dt.timedelta(hours=2))))
    assert (raised.value.status, raised.value.message) == (
        401,
        "SNS message: Timestamp more than 1 h ago: replay or wrong clock",
    )
    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign(sns_notification(BOUNCE, at=NOW + dt.timedelta(minutes=10))))
    assert raised.value.status == 401
    assert read(sns_sign(sns_notification(BOUNCE, at=NOW - dt.timedelta(minutes=59)))).events


def test_an_expired_certificate_is_refused() -> None:
    message = sns_sign(sns_notification(BOUNCE, at=NOW + dt.timedelta(days=400)))
    with pytest.raises(WebhookRejected) as raised:
        read(message, now=NOW + dt.timedelta(days=400))
    assert (raised.value.status, raised.value.message) == (401, "SNS signing certificate: expired or not yet valid")


def test_what_the_fetcher_returns_must_be_a_certificate() -> None:
    for pem, status in ((b"not a certificate", 401), (b"", 401)):
        with pytest.raises(WebhookRejected) as raised:
            read(sns_sign(sns_notification(BOUNCE)), fetcher=Certificates(pem))
        assert raised.value.status == status

    class Broken(Certificates):
        def __call__(self, url: str) -> bytes:
            raise requests.ConnectionError("no route")

    with pytest.raises(WebhookRejected) as raised:
        read(sns_sign(sns_notification(BOUNCE)), fetcher=Broken())
    assert (raised.value.status, raised.value.message) == (503, "could not fetch the SNS signing certificate")


def test_unsigned_and_unknown_versions() -> None:
    message = sns_sign(sns_notification(BOUNCE))
    for changes in ({"SignatureVersion": "3"}, {"Signature": ""}, {"Signature": "!!"}, {"SignatureVersion": 1}):
        with pytest.raises(WebhookRejected) as raised:
            read({**message, **changes})
        assert raised.value.status == 401
    del message["Signature"]
    with pytest.raises(WebhookRejected):
        read(message)


def test_a_notification_that_is_not_an_ses_event() -> None:
    text = "Successfully validated SNS topic for Amazon SES event publishing."
    result = read(sns_sign(sns_notification(text)))
    assert (result.events, result.skipped) == ([], ["SNS notification that is not an SES event"])


def test_configuration_is_required() -> None:
    with pytest.raises(NotConfigured) as raised:
        read(sns_sign(sns_notification(BOUNCE)), env={})
    assert raised.value.message == (
        "SES webhooks are not set up: set ACTIONMAIL_SES_WEBHOOK_TOPIC_ARN to the SNS topic's ARN (and/or "
        "ACTIONMAIL_SES_WEBHOOK_USERNAME and ACTIONMAIL_SES_WEBHOOK_PASSWORD)"
    )


def test_basic_auth_instead_of_a_topic_list() -> None:
    env = {"ACTIONMAIL_SES_WEBHOOK_USERNAME": "sns", "ACTIONMAIL_SES_WEBHOOK_PASSWORD": "pw"}
    message = sns_sign(sns_notification(BOUNCE))
    with pytest.raises(WebhookRejected) as raised:
        read(message, env=env)
    assert raised.value.status == 401 and "WWW-Authenticate" in raised.value.headers  # SNS then sends them
    assert read(message, env=env, headers=basic("sns", "pw")).events


def test_hostile_ses_events_inside_a_signed_message() -> None:
    """Found by the fuzz test: an eventType that is a list was looked up in a dict (TypeError)."""
    for event in ({"eventType": [None], "mail": MAIL}, {"notificationType": {}, "eventType": 5}, "\ud800"):
        result = read(sns_sign(sns_notification(event if isinstance(event, str) else json.dumps(event))))
        assert all(e.kind is Kind.OTHER for e in result.events)


def test_hostile_sns_bodies() -> None:
    for body in (
        b"[]",
        b'{"Type": "Other"}',
        b"\xff",
        b'{"Type": "Notification", "Message": 5, "SignatureVersion": "1", "SigningCertURL": "'
        + CERT_URL.encode()
        + b'", "Signature": "YWJj"}',
    ):
        with pytest.raises(WebhookRejected) as raised:
            read_webhook("ses", request(body, env=ENV), certificates=Certificates())
        assert raised.value.status in (400, 401, 403)


# --- the real fetcher ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[str]]]:
    """An HTTPS server on 127.0.0.1 whose certificate a CA made here issued: /cert.pem, /missing.pem, /moved.pem, /big.pem."""
    ca_key, _ = sns_authority()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (
        x509.CertificateBuilder().subject_name(x509_name("Test HTTPS CA")).issuer_name(x509_name("Test HTTPS CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    leaf = (
        x509.CertificateBuilder().subject_name(x509_name("127.0.0.1")).issuer_name(root.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).not_valid_after(dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("https")
    (folder / "ca.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/cert.pem":
                self._answer(200, sns_pem())
            elif self.path == "/moved.pem":
                self.send_response(302)
                self.send_header("Location", "/cert.pem")
                self.end_headers()
            elif self.path == "/big.pem":
                self._answer(200, b"x" * (SnsCertificates.MAX_SIZE + 1))
            else:
                self._answer(404, b"no")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", folder / "ca.pem", hits
    finally:
        server.shutdown()
        server.server_close()


def test_the_real_fetcher_caches_and_refuses_what_it_should(https_server: tuple[str, Path, list[str]]) -> None:
    base, ca, hits = https_server
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, where set, overrides the session's CA
    session.verify = str(ca)
    fetch = SnsCertificates(session=session, timeout=5)
    assert fetch(base + "/cert.pem") == sns_pem()
    assert fetch(base + "/cert.pem") == sns_pem()
    assert hits.count("/cert.pem") == 1  # kept by URL
    for path, status in (("/missing.pem", 503), ("/moved.pem", 503), ("/big.pem", 401)):
        with pytest.raises(WebhookRejected) as raised:
            fetch(base + path)
        assert raised.value.status == status
    # Without our CA, the server's certificate is not trusted: nothing is fetched over unverified TLS.
    untrusting = requests.Session()
    untrusting.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        SnsCertificates(untrusting, timeout=5)(base + "/cert.pem")


def test_confirming_a_subscription_fetches_its_url_and_says_when_sns_does_not_answer() -> None:
    """serve GETs a verified SubscribeURL; anything but a 200 is a 503, so SNS sends the confirmation again."""
    import http.server
    import threading

    from actionmail.feedback import confirm_subscription

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200 if self.path.startswith("/ok") else 500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        confirm_subscription(f"{base}/ok?Action=ConfirmSubscription&Token=t")
        with pytest.raises(WebhookRejected) as refused:
            confirm_subscription(f"{base}/refused")
        assert (refused.value.status, refused.value.message) == (
            503,
            "confirming the SNS subscription: SNS answered 500",
        )
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(WebhookRejected) as unreachable:
        confirm_subscription(base + "/ok", timeout=2)  # the server is gone
    assert unreachable.value.status == 503
    assert asked == ["/ok?Action=ConfirmSubscription&Token=t", "/refused"]
