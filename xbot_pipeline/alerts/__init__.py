"""Alerts: rules (health, critical errors, spikes, failing checks), routing with persisted state, delivery."""

from xbot_pipeline.alerts.delivery import LogSender, WebhookSender, sender_for
from xbot_pipeline.alerts.engine import AlertPass, FailedCheck, evaluate_alerts

__all__ = ["AlertPass", "FailedCheck", "LogSender", "WebhookSender", "evaluate_alerts", "sender_for"]
