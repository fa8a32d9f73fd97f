"""Fan-out of one intent over the configured channels, and the per-target throttle."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from crudauth.email.channel import DeliveryChannel, DeliveryIntent
from crudauth.email.constants import TARGET_THROTTLE_NAMESPACE
from crudauth.utils.identifiers import canonical_email

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from crudauth.ratelimit import RateLimit, RateLimiterBackend

__all__ = ["fan_out", "target_throttled"]

logger = logging.getLogger("crudauth")


async def fan_out(
    channels: Sequence[DeliveryChannel], intent: DeliveryIntent, db: AsyncSession | None
) -> None:
    """Hand ``intent`` to each channel in order; a failing channel never stops the rest.

    Nothing is reported back, on purpose, because counting successes would let a caller
    learn whether an account exists. ``change_email`` goes only to channels that send
    email. A channel's failure is logged with its exception class only.

    Args:
        channels: The configured channels, in order.
        intent: The message to deliver.
        db: A session the channels may read, or ``None``.
    """
    for channel in channels:
        if intent.kind == "change_email" and not channel.sends_email:
            continue
        try:
            await channel.deliver(intent, db)
        except Exception as exc:
            # Only the exception class is logged: a mailer's message often quotes the
            # recipient address.
            logger.warning(
                "Delivery of %s through %s failed (%s)",
                intent.kind,
                type(channel).__name__,
                type(exc).__name__,
            )


async def target_throttled(
    limiter: RateLimiterBackend | None,
    limits: Mapping[str, RateLimit],
    action: str,
    target: str,
) -> bool:
    """Count one request for ``target`` and return whether it is over its budget.

    The key is ``email:<action>:<canonical target>``. The caller then stops silently,
    because a 429 here would reveal that the account exists and let anyone lock a
    victim out. A failing limiter counts as over the budget, so an outage never sends
    mail unthrottled.

    Args:
        limiter: The counter backend, or ``None`` for no throttle.
        limits: The app's rate limits by action name.
        action: The action whose limit applies, such as ``"password_reset_request"``.
        target: The address or phone number the message would go to.

    Returns:
        ``True`` when the target is over its budget or the limiter failed; ``False``
        when no limiter or limit applies.

    Raises:
        StoreUnavailableError: The store is unreachable.
    """
    limit = limits.get(action)
    if limiter is None or limit is None or limit.disabled:
        return False
    key = f"{TARGET_THROTTLE_NAMESPACE}:{action}:{canonical_email(target)}"
    _count, limited, _retry_after = await limiter.increment_and_check(
        key, limit.times, limit.seconds, fail_open=False
    )
    return limited
