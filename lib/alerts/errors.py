"""The alerting package's own error, beneath the kernel's tree (lib/core/errors.py):

    FleetError
    └── DeliveryError    a channel could not deliver a notification; ``retryable`` says whether
                         sending the same notification again later can succeed

A channel raises nothing else for a failed delivery: transport errors (refused, timed out),
and HTTP answers other than 2xx, are translated at the channel's boundary.
"""

from __future__ import annotations

from lib.core import FleetError

__all__ = ["DeliveryError"]


class DeliveryError(FleetError):
    """A notification did not reach ``channel``.

    ``retryable`` is True for failures that may pass on their own (connection refused or
    reset, timeouts, HTTP 408, 429 and 5xx) and False for those that will not until someone
    changes the configuration or the payload (other 4xx, redirects, a malformed URL).
    ``status`` is the HTTP status when there was an answer; ``retry_after`` the seconds the
    receiver asked to wait (``Retry-After``, or Discord's ``retry_after``), when it said.

    The message names the channel and the host, never a full URL, a path or a token: Slack and
    Discord webhook URLs are secrets in themselves.
    """

    public = "a notification channel failed"

    def __init__(
        self,
        channel: str,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.detail = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
