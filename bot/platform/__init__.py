"""What every process stands on: settings (the only reader of the environment), database engines and
migrations (the only creator of engines), the cache and pub/sub (Redis or in-process), structured logs and
Prometheus metrics. Nothing here knows about WeChat, appeals or policies.
"""
