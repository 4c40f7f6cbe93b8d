"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("appealbot_wechat_requests_total", "WeChat callback requests by outcome", ["outcome"])
DUPLICATES = Counter("appealbot_wechat_duplicates_total", "Retries of messages already received")
LATE_REPLIES = Counter(
    "appealbot_wechat_late_replies_total", "Replies not ready within the budget, sent as customer-service messages"
)
FAILURES = Counter("appealbot_processing_failures_total", "Messages whose processing raised an error")
PUSHES = Counter("appealbot_wechat_pushes_total", "Customer-service and template messages by outcome", ["status"])
LATENCY = Histogram(
    "appealbot_wechat_seconds",
    "Time to answer a WeChat callback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 5),
)
