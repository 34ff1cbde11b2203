"""The Channel protocol, and the HTTP plumbing every channel shares.

``HTTPChannel._post`` sends one JSON body through an injectable ``httpx.Client`` with explicit
timeouts and no redirects, and turns every failure into a DeliveryError whose message names
the host, never the URL's path, query or a token (lib.core.redact with this channel's
secrets), and whose ``retryable`` tells the caller whether to try again later.
"""

from __future__ import annotations

import json
import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import httpx

from lib.core import http_url_problem, redact

from ..errors import DeliveryError
from ..model import Notification

__all__ = ["Channel", "HTTPChannel", "url_problem"]

logger = logging.getLogger("lib.alerts.channels")

_SNIPPET = 200        # characters of an error answer quoted in a message
_MIN_SECRET_PART = 6  # path and query parts at least this long are masked in messages
USER_AGENT = "fleet-metrics-alerts/1"
# Retrying later can help: the request may not have arrived, or the receiver was overloaded.
RETRYABLE_STATUSES = frozenset({408, 429})
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
                        httpx.ProxyError)


class _MaskSecrets(logging.Filter):
    """Masks channel secrets in httpx's own log lines (``HTTP Request: POST <full URL>`` at
    INFO would show a Slack or Discord webhook URL to anyone who raises the log level)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            masked = redact(text, sorted(self.secrets, key=len, reverse=True))
            if masked != text:
                record.msg, record.args = masked, None
        return True


_HTTPX_MASK = _MaskSecrets()
logging.getLogger("httpx").addFilter(_HTTPX_MASK)


@runtime_checkable
class Channel(Protocol):
    """Somewhere notifications go. ``send`` delivers one or raises DeliveryError."""

    name: str

    def send(self, notification: Notification) -> None: ...


def url_problem(url: str, example: str) -> str | None:
    """What is wrong with ``url`` as a channel's endpoint (never repeating it), or None."""
    problem = http_url_problem(url, example)
    if problem is None and urlsplit(url).fragment:
        return "must not have a #fragment"
    return problem


class HTTPChannel:
    """A channel that POSTs JSON to one URL.

    ``timeout`` (seconds) bounds each phase of the request (connect, write, read) and is
    passed on every request, so an injected ``client`` built without timeouts cannot hang.
    An injected client stays the caller's to close; one made here is closed by ``close()``.
    """

    name = "http"
    example = "https://receiver.example.com/hook"
    secret_path = True  # Slack and Discord keep their token in the path; webhooks often do

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        problem = url_problem(url, self.example)
        if problem:
            raise ValueError(f"url {problem}")
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        self._url = url
        parts = urlsplit(url)
        self.host = parts.hostname or "?"
        if parts.port:
            self.host += f":{parts.port}"
        self._secrets = _secret_parts(url, secrets, path=self.secret_path)
        _HTTPX_MASK.secrets.update(self._secrets)
        self._timeout_seconds = timeout
        self._timeout = httpx.Timeout(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.host!r})"

    def send(self, notification: Notification) -> None:
        """Deliver ``notification``; each channel renders its own payload and ``_post``s it."""
        raise NotImplementedError

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HTTPChannel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST ``payload`` as JSON; the 2xx response, or DeliveryError."""
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()
        sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        try:
            response = self._client.post(self._url, content=body, headers=sent,
                                         timeout=self._timeout, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise self._failure(
                f"timed out after {self._timeout_seconds:g} s ({type(exc).__name__})",
                retryable=True) from self._cause(exc)
        except _RETRYABLE_TRANSPORT as exc:
            raise self._failure(f"could not reach it ({type(exc).__name__})",
                                retryable=True) from self._cause(exc)
        except httpx.HTTPError as exc:
            raise self._failure(f"request failed ({type(exc).__name__})",
                                retryable=False) from self._cause(exc)
        if response.is_success:
            logger.debug("alert channel %s: delivered to %s (HTTP %d)", self.name, self.host,
                         response.status_code)
            return response
        raise self._rejected(response)

    def _rejected(self, response: httpx.Response) -> DeliveryError:
        code = response.status_code
        hint = " (redirects are not followed: check the URL)" if response.is_redirect else ""
        retryable = code in RETRYABLE_STATUSES or code >= 500
        problem = f"HTTP {code} {response.reason_phrase}{hint}{self._snippet(response)}"
        return self._failure(problem, retryable=retryable, status=code,
                             retry_after=_retry_after(response) if retryable else None)

    def _failure(self, problem: str, **details: Any) -> DeliveryError:
        """The DeliveryError for ``problem`` (redacted), logged once as a warning."""
        error = DeliveryError(self.name, self._redact(f"{self.host}: {problem}"), **details)
        logger.warning("alert channel failed: %s (retryable: %s)", error, error.retryable)
        return error

    def _cause(self, exc: Exception) -> Exception | None:
        """``exc`` to chain, unless its text would show a secret in a logged traceback."""
        text = str(exc)
        return None if self._redact(text) != text else exc

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _snippet(self, response: httpx.Response) -> str:
        """``: <the start of the answer>``, masked before it is cut (no half secret shows)."""
        try:
            text = self._redact(" ".join(response.text.split()))
        except (UnicodeDecodeError, LookupError):
            return ""
        if not text:
            return ""
        return ": " + (text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…")


def _secret_parts(url: str, extra: tuple[str, ...], *, path: bool) -> list[str]:
    """What a message must never show: the URL, credentials in it, its query, its path (when
    ``path``) and each longer part of those, and ``extra``; longest first so that no secret is
    half masked."""
    parts = urlsplit(url)
    found = {url, url.rstrip("/"), parts.query, parts.username or "", parts.password or "",
             *extra}
    pieces = parts.query.replace("=", "&").split("&")
    if path:
        found.update({parts.path, unquote(parts.path)})
        pieces += parts.path.split("/")
    for piece in pieces:
        if len(piece) >= _MIN_SECRET_PART:
            found.update({piece, unquote(piece)})
    return sorted((s for s in found if len(s) >= 4 and s != "/"), key=len, reverse=True)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), or from a JSON body's
    ``retry_after`` (Discord's 429), when the receiver said."""
    header = response.headers.get("retry-after", "").strip()
    if header:
        try:
            return max(float(header), 0.0)
        except ValueError:
            pass
        try:
            return max(parsedate_to_datetime(header).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError, IndexError):
            pass
    try:
        value = response.json().get("retry_after")
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None
