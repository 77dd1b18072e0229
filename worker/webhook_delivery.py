"""Deliver one webhook attempt (the `worker.deliver_webhook` task's body, on the `webhooks`
queue): sign, POST, record the attempt, and schedule the next one with exponential back-off.

Retried: 5xx, 408, 429, time-outs and connection errors, for `webhook_retry_for_s` from the
event (25 h by default), the pause doubling from `webhook_retry_first_s` up to an hour. Not
retried: other 4xx (the receiver refuses it), and a URL that resolves to an address the service
does not call (checked again here: DNS may have changed since the submission).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from core.settings import Settings
from core.store.types import utcnow
from core.store.webhook_deliveries import Outgoing, due_deliveries, outgoing, record_attempt
from core.webhook_signing import sign
from core.webhook_urls import checked_target
from worker.after_commit import send_webhook
from worker.pinned_address import pinned_request
from worker.store_calls import store_call

log = logging.getLogger(__name__)

LONGEST_PAUSE_S = 3600.0
RETRIED_4XX = (408, 429)

Schedule = Callable[[int, float], None]  # (delivery id, countdown in seconds)


def pause_after(attempt: int, settings: Settings) -> float:
    """Seconds before the attempt after number `attempt` (1-based)."""
    return float(min(settings.webhook_retry_first_s * 2 ** (attempt - 1), LONGEST_PAUSE_S))


def deliver(delivery_id: int, settings: Settings, schedule: Schedule) -> None:
    out = store_call(
        settings,
        lambda session: outgoing(session=session, delivery_id=delivery_id),
        what=f"read webhook delivery {delivery_id}",
    )
    if out is None:
        log.info("webhook delivery %d: delivered or given up already; dropped", delivery_id)
        return
    now = utcnow()
    if out.next_try_at is not None and out.next_try_at - now > timedelta(seconds=1):
        # An early copy of a scheduled retry (a redelivered message): wait for the due one.
        schedule(delivery_id, (out.next_try_at - now).total_seconds())
        return
    status_code, error, duration_ms = _attempt(out, settings)
    retry = status_code is None or status_code >= 500 or status_code in RETRIED_4XX
    ok = status_code is not None and 200 <= status_code < 300
    next_try: datetime | None = None
    if ok:
        state = "delivered"
    elif retry and error is not None and error.startswith("refused:"):
        state, retry = "failed", False
    elif retry:
        next_try = utcnow() + timedelta(seconds=pause_after(out.attempt, settings))
        if (next_try - out.created_at).total_seconds() > settings.webhook_retry_for_s:
            state, next_try, retry = "failed", None, False
        else:
            state = "pending"
    else:
        state = "failed"
    recorded = store_call(
        settings,
        lambda session: record_attempt(
            session=session,
            delivery_id=delivery_id,
            attempt=out.attempt,
            status_code=status_code,
            duration_ms=duration_ms,
            error=error,
            state=state,
            next_try_at=next_try,
        ),
        what=f"record webhook delivery {delivery_id}",
    )
    log.info(
        "webhook delivery %d attempt %d to %s: %s%s",
        delivery_id,
        out.attempt,
        out.url,
        status_code if status_code is not None else error,
        f"; next try at {next_try:%H:%M:%S}" if next_try else f"; {state}",
    )
    if recorded and state == "pending" and next_try is not None:
        schedule(delivery_id, max(0.0, (next_try - utcnow()).total_seconds()))


def _attempt(out: Outgoing, settings: Settings) -> tuple[int | None, str | None, float]:
    """(status code, error, milliseconds) of one POST."""
    problem, address = checked_target(
        out.url,
        allow_private=settings.allow_private_webhooks,
        allow_http=settings.allow_http_webhooks,
    )
    if problem is not None:
        return None, f"refused: webhook_url {problem}", 0.0
    url, pinned = pinned_request(out.url, address)
    body = json.dumps(out.body, separators=(",", ":")).encode()
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "cifar-resnet-service-webhooks/1",
        "webhook-id": out.message_id,
        "webhook-timestamp": str(timestamp),
    }
    if out.secret is not None:
        headers["webhook-signature"] = sign(out.secret, out.message_id, timestamp, body)
    headers.update(pinned.headers)
    started = time.perf_counter()
    try:
        # No redirects: a redirect could lead to an address the check above refuses.
        with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
            answer = client.post(url, content=body, headers=headers, extensions=pinned.extensions)
    except httpx.TimeoutException:
        return None, "timed out", (time.perf_counter() - started) * 1000
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}", (time.perf_counter() - started) * 1000
    return answer.status_code, None, (time.perf_counter() - started) * 1000


# A webhook attempt this overdue lost its message (a worker killed while holding it): resend.
LOST_AFTER_S = 60.0


def resend_overdue(settings: Settings) -> None:
    """The reaper's webhook pass: deliveries whose next attempt is long overdue go out again
    (a duplicate is harmless: the attempt is recorded once, receivers dedupe on webhook-id)."""
    before = utcnow() - timedelta(seconds=LOST_AFTER_S)
    due = store_call(
        settings,
        lambda session: due_deliveries(session=session, before=before),
        what="list overdue webhook deliveries",
    )
    for delivery_id in due:
        try:
            send_webhook(delivery_id, settings=settings)
        except Exception:
            log.exception("webhook delivery %d: could not send it; next pass", delivery_id)
            return
        log.info("webhook delivery %d: overdue; sent again", delivery_id)
