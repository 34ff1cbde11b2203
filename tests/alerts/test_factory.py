"""channels_from_settings: one channel per configured variable, in order; clear ConfigErrors."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lib.alerts import DeliveryError, channels_from_settings
from lib.alerts.channels import (
    AlertmanagerChannel,
    DiscordChannel,
    HTTPChannel,
    SlackChannel,
    WebhookChannel,
)
from lib.core import ConfigError, Settings, get_settings
from tests.alerts.samples import firing
from tests.services.receiver import Receiver

VARIABLES = ("ALERT_WEBHOOK_URL", "ALERT_WEBHOOK_TOKEN", "ALERT_SLACK_WEBHOOK_URL",
             "ALERT_DISCORD_WEBHOOK_URL", "ALERTMANAGER_URL", "ALERT_TIMEOUT_SECONDS",
             "ALERT_EXTERNAL_URL")
SLACK = "https://hooks.slack.com/services/T000/B000/slackSecret1"
DISCORD = "https://discord.com/api/webhooks/123/discordSecret1"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No alerting variable from the outside; settings read afresh."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _settings(env: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        env.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def test_no_variable_means_no_channel(env: pytest.MonkeyPatch) -> None:
    assert channels_from_settings(_settings(env)) == []


def test_blank_variables_count_as_unset(env: pytest.MonkeyPatch) -> None:
    settings = _settings(env, ALERT_WEBHOOK_URL="  ", ALERT_SLACK_WEBHOOK_URL="",
                         ALERTMANAGER_URL=" ")
    assert channels_from_settings(settings) == []


@pytest.mark.parametrize(("variable", "url", "kind", "host"), [
    ("ALERT_WEBHOOK_URL", "https://ops.example.com/alerts", WebhookChannel, "ops.example.com"),
    ("ALERT_SLACK_WEBHOOK_URL", SLACK, SlackChannel, "hooks.slack.com"),
    ("ALERT_DISCORD_WEBHOOK_URL", DISCORD, DiscordChannel, "discord.com"),
    ("ALERTMANAGER_URL", "http://alertmanager:9093", AlertmanagerChannel, "alertmanager:9093"),
])
def test_each_variable_makes_its_channel(
    env: pytest.MonkeyPatch, variable: str, url: str, kind: type[HTTPChannel], host: str
) -> None:
    (channel,) = channels_from_settings(_settings(env, **{variable: url}))
    assert type(channel) is kind
    assert isinstance(channel, HTTPChannel)
    assert channel.host == host
    assert channel._timeout_seconds == 5.0  # ALERT_TIMEOUT_SECONDS's default
    channel.close()


def test_every_variable_in_the_fixed_order(env: pytest.MonkeyPatch) -> None:
    settings = _settings(env, ALERTMANAGER_URL="http://am:9093", ALERT_DISCORD_WEBHOOK_URL=DISCORD,
                         ALERT_SLACK_WEBHOOK_URL=SLACK, ALERT_WEBHOOK_URL="https://ops.example.com",
                         ALERT_TIMEOUT_SECONDS="2.5", ALERT_EXTERNAL_URL="https://fleet.example.com")
    with httpx.Client() as client:
        channels = channels_from_settings(settings, client)
        assert [c.name for c in channels] == ["webhook", "slack", "discord", "alertmanager"]
        for channel in channels:
            assert isinstance(channel, HTTPChannel)
            assert channel._client is client
            assert channel._timeout_seconds == 2.5
            assert channel.external_url == "https://fleet.example.com"  # type: ignore[attr-defined]


def test_the_settings_reach_the_wire(env: pytest.MonkeyPatch, receiver: Receiver) -> None:
    settings = _settings(env, ALERT_WEBHOOK_URL=receiver.url + "/hook",
                         ALERT_WEBHOOK_TOKEN="tok-123456", ALERT_EXTERNAL_URL="https://fleet.example.com/")
    (channel,) = channels_from_settings(settings)
    channel.send(firing())
    (request,) = receiver.requests
    assert request.headers["authorization"] == "Bearer tok-123456"
    assert request.json()["externalURL"] == "https://fleet.example.com"


def test_alert_timeout_seconds_bounds_each_request(
    env: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    receiver.respond(200, delay=5.0)
    settings = _settings(env, ALERT_SLACK_WEBHOOK_URL=receiver.url + "/s",
                         ALERT_TIMEOUT_SECONDS="0.2")
    (channel,) = channels_from_settings(settings)
    with pytest.raises(DeliveryError) as caught:
        channel.send(firing())
    assert caught.value.detail.endswith("timed out after 0.2 s (ReadTimeout)")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("ALERT_WEBHOOK_URL", "ops.example.com/alerts",
     "ALERT_WEBHOOK_URL: url must be an http(s) URL such as https://receiver.example.com/alerts"),
    ("ALERT_SLACK_WEBHOOK_URL", "hooks.slack.com/services/T000/B000/slackSecret1",
     "ALERT_SLACK_WEBHOOK_URL: url must be an http(s) URL such as "
     "https://hooks.slack.com/services/T000/B000/XXXX"),
    ("ALERT_DISCORD_WEBHOOK_URL", "discord://api/webhooks/123/discordSecret1",
     "ALERT_DISCORD_WEBHOOK_URL: url must be an http(s) URL such as "
     "https://discord.com/api/webhooks/123/XXXX"),
    ("ALERT_DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/1/discordSecret1#x",
     "ALERT_DISCORD_WEBHOOK_URL: url must not have a #fragment"),
    ("ALERTMANAGER_URL", "am.internal:9093",
     "ALERTMANAGER_URL: url must be an http(s) URL such as http://alertmanager:9093"),
    ("ALERTMANAGER_URL", "http://alertmanager:9093/?token=amSecret1",
     "ALERTMANAGER_URL: url must be Alertmanager's base URL, without a query"),
    ("ALERT_EXTERNAL_URL", "dash.example.org",
     "ALERT_EXTERNAL_URL: must be an http(s) URL such as https://fleet.example.com"),
    ("ALERT_WEBHOOK_TOKEN", "tok-123456",
     "ALERT_WEBHOOK_TOKEN: is set but ALERT_WEBHOOK_URL is not"),
])
def test_bad_variables_are_named_and_never_repeated(
    env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    settings = _settings(env, **{variable: value})
    with pytest.raises(ConfigError) as caught:
        channels_from_settings(settings)
    assert caught.value.variable == variable
    assert str(caught.value) == message
    if variable != "ALERT_WEBHOOK_TOKEN":
        assert value not in str(caught.value)


def test_a_bad_variable_fails_even_when_the_others_are_good(env: pytest.MonkeyPatch) -> None:
    settings = _settings(env, ALERT_SLACK_WEBHOOK_URL=SLACK, ALERTMANAGER_URL="am:9093")
    with pytest.raises(ConfigError) as caught:
        channels_from_settings(settings)
    assert caught.value.variable == "ALERTMANAGER_URL"
