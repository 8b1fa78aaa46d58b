"""GET /metrics for Prometheus: read from the database and Redis at each scrape.

Every web process answers with the same figures (they are the database's, not a process's
own counters), so no multiprocess setup is needed behind gunicorn. The figures carry no
personal data. Open to loopback only, unless ADVOCACY_METRICS_TOKEN is set: then to whoever
sends it as a bearer token (a scraper on another machine).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from . import clock
from .extensions import db
from .models import Campaign, Letter
from .pulse import held_by_reason, queue_state
from .rollup import is_sent, recent, seconds_between
from .stats import letter_stats

bp = Blueprint("metrics", __name__)
LOOPBACK = {"127.0.0.1", "::1"}


class Figures(Collector):
    """The collector: one pass over the database and RQ per scrape."""

    def collect(self) -> Iterator[Any]:
        letters = GaugeMetricFamily("advocacy_letters", "Letters by campaign and state",
                                    labels=["campaign", "state"])
        for campaign in db.session.scalars(select(Campaign)):
            for state, n in letter_stats(campaign)["letters"].items():
                letters.add_metric([campaign.slug, state], n)
        yield letters
        held = GaugeMetricFamily("advocacy_held_letters",
                                 "Held letters by reason (limit and window: rate-limit holds)",
                                 labels=["reason"])
        for reason, n in held_by_reason().items():
            held.add_metric([reason], n)
        yield held
        state = queue_state()
        if state.depth is not None:
            yield GaugeMetricFamily("advocacy_queue_depth", "Jobs waiting in RQ",
                                    value=state.depth)
            yield GaugeMetricFamily("advocacy_workers", "RQ workers alive",
                                    value=state.workers or 0)
        oldest = (clock.now() - state.oldest_queued).total_seconds() if state.oldest_queued else 0
        yield GaugeMetricFamily("advocacy_oldest_queued_seconds",
                                "Age of the oldest queued letter", value=oldest)
        latency = GaugeMetricFamily(
            "advocacy_send_latency_seconds",
            "From confirmation (queued) to sent, letters sent in the last hour", labels=["stat"])
        wait = seconds_between(Letter.queued_at, Letter.sent_at)
        average, longest = db.session.execute(
            select(func.avg(wait), func.max(wait)).where(
                recent(Letter.sent_at >= clock.now() - timedelta(hours=1)), is_sent())).one()
        latency.add_metric(["avg"], float(average or 0))
        latency.add_metric(["max"], float(longest or 0))
        yield latency


@bp.get("/metrics")
def metrics() -> Response:
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token:
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(401)
    elif request.remote_addr not in LOOPBACK:
        abort(404)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Figures())
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")
