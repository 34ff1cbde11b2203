"""The channels over real HTTP to a local receiver: what arrives, and how failures are told."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from lib.alerts import DeliveryError, Notification
from lib.alerts.channels import (
    AlertmanagerChannel,
    Channel,
    DiscordChannel,
    HTTPChannel,
    SlackChannel,
    WebhookChannel,
    alertmanager_alerts,
    discord_payload,
    slack_payload,
    webhook_payload,
)
from tests.alerts.samples import EXTERNAL, firing, resolved
from tests.services.processes import free_port
from tests.services.receiver import Receiver

TOKEN = "whtok-7f3a9c2e51"
SLACK_PATH = "/services/T0FLEET01/B0ALERTS9/slackSecret9Zq4"
DISCORD_PATH = "/api/webhooks/112233445566/discordSecret-Xy81"
WEBHOOK_PATH = "/hooks/fleet"
WEBHOOK_QUERY = "?key=querySecret42"
TIMEOUT = 0.5

# what must never show in an error message, a log line or a repr
SECRETS = (TOKEN, SLACK_PATH, "slackSecret9Zq4", DISCORD_PATH, "discordSecret-Xy81",
           "querySecret42")

Make = Callable[[str, httpx.Client | None], HTTPChannel]

MAKERS: dict[str, Make] = {
    "webhook": lambda base, client: WebhookChannel(
        base + WEBHOOK_PATH + WEBHOOK_QUERY, token=TOKEN, external_url=EXTERNAL,
        timeout=TIMEOUT, client=client),
    "slack": lambda base, client: SlackChannel(
        base + SLACK_PATH, external_url=EXTERNAL, timeout=TIMEOUT, client=client),
    "discord": lambda base, client: DiscordChannel(
        base + DISCORD_PATH, external_url=EXTERNAL, timeout=TIMEOUT, client=client),
    "alertmanager": lambda base, client: AlertmanagerChannel(
        base, external_url=EXTERNAL, timeout=TIMEOUT, client=client),
}
PATHS = {"webhook": WEBHOOK_PATH, "slack": SLACK_PATH, "discord": DISCORD_PATH,
         "alertmanager": "/api/v2/alerts"}
RENDER: dict[str, Callable[[Notification], Any]] = {
    "webhook": lambda n: webhook_payload(n, external_url=EXTERNAL),
    "slack": lambda n: slack_payload(n, external_url=EXTERNAL),
    "discord": lambda n: discord_payload(n, external_url=EXTERNAL),
    "alertmanager": lambda n: alertmanager_alerts(n, external_url=EXTERNAL),
}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as shared:
        yield shared


def _assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


# --- what arrives --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MAKERS))
@pytest.mark.parametrize("make_notification", [firing, resolved], ids=["firing", "resolved"])
def test_each_channel_posts_its_payload(
    receiver: Receiver, client: httpx.Client, name: str,
    make_notification: Callable[[], Notification],
) -> None:
    notification = make_notification()
    channel = MAKERS[name](receiver.url, client)
    assert isinstance(channel, Channel)
    assert channel.name == name
    channel.send(notification)
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", PATHS[name])
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "fleet-metrics-alerts/1"
    assert request.json() == RENDER[name](notification)


def test_webhook_sends_the_bearer_token_and_the_notification_key(
    receiver: Receiver, client: httpx.Client
) -> None:
    MAKERS["webhook"](receiver.url, client).send(resolved())
    (request,) = receiver.requests
    assert request.query == {"key": ["querySecret42"]}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["idempotency-key"] == "inc-0123456789abcdef:2"


def test_webhook_without_a_token_sends_no_authorization(
    receiver: Receiver, client: httpx.Client
) -> None:
    WebhookChannel(receiver.url + WEBHOOK_PATH, client=client).send(firing())
    (request,) = receiver.requests
    assert "authorization" not in request.headers
    assert request.json() == webhook_payload(firing())


@pytest.mark.parametrize("name", ["slack", "discord", "alertmanager"])
def test_chat_and_alertmanager_send_no_authorization(
    receiver: Receiver, client: httpx.Client, name: str
) -> None:
    MAKERS[name](receiver.url, client).send(firing())
    assert "authorization" not in receiver.requests[0].headers


def test_discords_204_no_content_is_success(receiver: Receiver, client: httpx.Client) -> None:
    receiver.respond(204, b"")
    MAKERS["discord"](receiver.url, client).send(firing())
    assert len(receiver.requests) == 1


def test_alertmanager_channel_takes_the_api_path_too(
    receiver: Receiver, client: httpx.Client
) -> None:
    channel = AlertmanagerChannel(receiver.url + "/api/v2/alerts/", client=client)
    assert channel.base_url == receiver.url
    channel.send(firing())
    assert [r.path for r in receiver.requests] == ["/api/v2/alerts"]


def test_alertmanager_channel_sends_nothing_for_a_group_without_alerts(
    receiver: Receiver, client: httpx.Client
) -> None:
    from dataclasses import replace

    AlertmanagerChannel(receiver.url, client=client).send(replace(resolved(), alerts=()))
    assert receiver.requests == []


def test_an_injected_client_stays_open_and_an_own_client_is_closed(receiver: Receiver) -> None:
    with httpx.Client() as injected:
        SlackChannel(receiver.url + SLACK_PATH, client=injected).close()
        assert not injected.is_closed
    own = SlackChannel(receiver.url + SLACK_PATH)
    own.send(firing())
    own.close()
    assert own._client.is_closed


def test_channels_never_show_their_url_in_repr(receiver: Receiver, client: httpx.Client) -> None:
    port = receiver.url.rsplit(":", 1)[1]
    for name, make in MAKERS.items():
        shown = repr(make(receiver.url, client))
        assert shown.endswith(f"(host='127.0.0.1:{port}')"), name
        _assert_no_secret(shown)


# --- failures ------------------------------------------------------------------------------


def _send_failing(channel: HTTPChannel) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        channel.send(firing())
    error = caught.value
    assert error.channel == channel.name
    assert str(error).startswith(f"{channel.name}: {channel.host}: ")
    _assert_no_secret(str(error))
    return error


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_receiver_that_is_down_is_retryable(client: httpx.Client, name: str) -> None:
    error = _send_failing(MAKERS[name](f"http://127.0.0.1:{free_port()}", client))
    assert error.retryable
    assert error.status is None
    assert "could not reach it (ConnectError)" in error.detail


@pytest.mark.parametrize("name", list(MAKERS))
def test_a_slow_receiver_times_out_and_is_retryable(
    receiver: Receiver, client: httpx.Client, name: str
) -> None:
    receiver.respond(200, delay=5.0)
    started = time.monotonic()
    error = _send_failing(MAKERS[name](receiver.url, client))
    assert time.monotonic() - started < TIMEOUT + 1.0
    assert error.retryable
    assert error.detail.endswith("timed out after 0.5 s (ReadTimeout)")


@pytest.mark.parametrize(("status", "headers", "body", "retryable", "retry_after"), [
    (500, {}, "rollup_error", True, None),
    (502, {}, "", True, None),
    (503, {"Retry-After": "120"}, "maintenance", True, 120.0),
    (429, {"Retry-After": "7"}, "rate_limited", True, 7.0),
    (429, {}, {"message": "You are being rate limited.", "retry_after": 1.5,
               "global": False}, True, 1.5),   # Discord's answer
    (408, {}, "", True, None),
    (400, {}, "invalid_payload", False, None),
    (403, {}, "action_prohibited", False, None),
    (404, {}, "no_service", False, None),
    (410, {}, "channel_is_archived", False, None),
    (301, {"Location": "https://elsewhere.example.com/"}, "", False, None),
])
@pytest.mark.parametrize("name", list(MAKERS))
def test_http_failures_say_whether_to_retry(
    receiver: Receiver, client: httpx.Client, name: str, status: int, headers: dict[str, str],
    body: str | dict[str, Any], retryable: bool, retry_after: float | None,
) -> None:
    receiver.respond(status, body, headers=headers)
    error = _send_failing(MAKERS[name](receiver.url, client))
    assert (error.status, error.retryable, error.retry_after) == (status, retryable, retry_after)
    assert f"HTTP {status} " in error.detail
    if isinstance(body, str) and body:
        assert error.detail.endswith(f": {body}")
    if status == 301:
        assert "redirects are not followed" in error.detail
    assert len(receiver.requests) == 1  # no retry inside send: the engine's outbox retries


def test_an_answer_that_echoes_secrets_is_masked(receiver: Receiver, client: httpx.Client) -> None:
    for name, make in MAKERS.items():
        channel = make(receiver.url, client)
        token = f" with Bearer {TOKEN}" if name == "webhook" else ""  # its own secrets
        echo = f"bad request to {channel._url}{token}; path {PATHS[name]}"
        receiver.respond(400, echo)
        error = _send_failing(channel)
        assert "***" in error.detail, name
        assert not error.retryable


def test_a_secret_across_the_cut_of_a_long_answer_is_masked(
    receiver: Receiver, client: httpx.Client
) -> None:
    # the answer is quoted up to 200 characters: masking comes first, so no half token shows
    receiver.respond(500, "x" * 190 + " slackSecret9Zq4 " + "y" * 100)
    error = _send_failing(MAKERS["slack"](receiver.url, client))
    assert error.detail.endswith("x *** " + "y" * 5 + "…")  # 190 + 5 + 5 = 200
    assert "slackSec" not in error.detail


def test_failures_log_no_secret(
    receiver: Receiver, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = logging.getLogger("tests.alerts")
    for name, make in MAKERS.items():
        for fault in ("down", "slow", "500", "400-echo", "ok"):
            receiver.reset()
            base = receiver.url
            if fault == "down":
                base = f"http://127.0.0.1:{free_port()}"
            elif fault == "slow":
                receiver.respond(200, delay=5.0)
            elif fault == "500":
                receiver.respond(500, f"boom {TOKEN if name == 'webhook' else PATHS[name]}")
            elif fault == "400-echo":
                query = WEBHOOK_QUERY if name == "webhook" else ""
                receiver.respond(400, f"{base}{PATHS[name]}{query}")  # its own URL back
            try:
                make(base, client).send(firing())
            except DeliveryError:
                log.exception("delivery to %s failed", name)  # with the traceback and cause
    assert "alert channel failed: " in caplog.text
    assert "delivered to 127.0.0.1" in caplog.text
    _assert_no_secret(caplog.text)


def test_the_timeout_is_set_on_each_request(receiver: Receiver) -> None:
    # a client built without timeouts cannot make a send hang
    receiver.respond(200, delay=5.0)
    with httpx.Client(timeout=None) as unbounded:
        started = time.monotonic()
        _send_failing(SlackChannel(receiver.url + SLACK_PATH, timeout=0.3, client=unbounded))
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(("make", "message"), [
    (lambda: SlackChannel("hooks.slack.com/services/x"),
     "url must be an http(s) URL such as https://hooks.slack.com/services/T000/B000/XXXX"),
    (lambda: DiscordChannel("ftp://discord.com/api/webhooks/1/x"),
     "url must be an http(s) URL such as https://discord.com/api/webhooks/123/XXXX"),
    (lambda: WebhookChannel("https://receiver.example.com/x#frag"),
     "url must not have a #fragment"),
    (lambda: AlertmanagerChannel("http://am:9093/?x=1"),
     "url must be Alertmanager's base URL, without a query"),
    (lambda: WebhookChannel("https://receiver.example.com/", timeout=0),
     "timeout must be > 0, got 0"),
])
def test_constructors_refuse_bad_urls_without_repeating_them(
    make: Callable[[], HTTPChannel], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value) == message
