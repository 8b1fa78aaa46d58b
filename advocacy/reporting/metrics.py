"""GET /metrics for Prometheus: read from the database and Redis at each scrape.

Every web process answers with the same figures (they are the database's, not a process's
own counters), so no multiprocess setup is needed behind gunicorn. The figures carry no
personal data. Open to loopback only, unless ADVOCACY_METRICS_TOKEN is set: then to whoever
sends it as a bearer token (a scraper on another machine).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from advocacy import clock
from advocacy.extensions import db
from advocacy.models import Campaign, LatencyCount, Letter, LetterStatus
from advocacy.reporting.rollup import (
    LATENCY_BUCKETS,
    Watermark,
    is_sent,
    latency_bucket,
    mark_upto,
    recent,
    steady,
    waited,
)
from advocacy.reporting.stats import letters_by_campaign
from advocacy.reporting.stuck import held_by_reason, queue_state

bp = Blueprint("metrics", __name__)
LOOPBACK = {"127.0.0.1", "::1"}


class Figures(Collector):
    """The collector: one pass over the database and RQ per scrape, in queries whose number
    does not grow with the campaigns'."""

    def collect(self) -> Iterator[Any]:
        # Every figure on one reading of the watermark (and once more if a roll-up moved it).
        counts, latencies = steady(lambda at: (letters_by_campaign(at), send_latency(at)))
        letters = GaugeMetricFamily("advocacy_letters", "Letters by campaign and state",
                                    labels=["campaign", "state"])
        slugs: dict[int, str] = {}
        for campaign in db.session.scalars(select(Campaign)):
            slugs[campaign.id] = campaign.slug
            for status in LetterStatus:
                letters.add_metric([campaign.slug, status.value],
                                   counts.get(campaign.id, {}).get(status.value, 0))
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
        latency = HistogramMetricFamily(
            "advocacy_send_latency_seconds",
            "From confirmation (queued) to sent, every letter sent", labels=["campaign"])
        for campaign_id, (in_buckets, seconds) in sorted(latencies.items()):
            cumulative, buckets = 0, []
            for bound, n in zip((*LATENCY_BUCKETS, "+Inf"), in_buckets, strict=True):
                cumulative += n
                buckets.append((str(bound), cumulative))
            latency.add_metric([slugs.get(campaign_id, str(campaign_id))], buckets, seconds)
        yield latency


def send_latency(at: Watermark | None = None) -> dict[int, tuple[list[int], float]]:
    """{campaign id: (letters in each latency bucket, not cumulative; their seconds added)}.

    Counted in the database at each scrape, over every letter ever sent: LatencyCount's sums
    plus the letters sent since the rollup's watermark (an indexed range). The worker and the
    web are separate processes, and docker-compose scales workers on their own, so a
    prometheus_client histogram observed in the worker would need multiprocess mode's shared
    directory, which separate containers do not have; the database is shared already, and
    the worker records each send there in the same transaction. Every letter, not a recent
    window: _bucket and _count must only grow, as Prometheus counters do.
    """
    since = mark_upto(at)
    bucket = latency_bucket()
    live = (select(Letter.campaign_id, bucket, func.count(), func.sum(waited()))
            .where(is_sent(), Letter.queued_at.is_not(None))
            .group_by(Letter.campaign_id, bucket))
    queries = [live]
    if since is not None:
        queries = [live.where(recent(Letter.sent_at >= since)), select(
            LatencyCount.campaign_id, LatencyCount.bucket, func.sum(LatencyCount.letters),
            func.sum(LatencyCount.seconds)).group_by(LatencyCount.campaign_id,
                                                     LatencyCount.bucket)]
    found: dict[int, tuple[list[int], float]] = {}
    for query in queries:
        for campaign_id, index, n, seconds in db.session.execute(query):
            counts, total = found.get(campaign_id, ([0] * (len(LATENCY_BUCKETS) + 1), 0.0))
            counts[index] += int(n)
            found[campaign_id] = (counts, total + float(seconds or 0))
    return found


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
