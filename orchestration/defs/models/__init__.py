"""Python model assets: health weights and the churn and expansion models (fit), alerts outbox."""

from orchestration.defs.models.health import health_weights
from orchestration.defs.models.outbox import alerts_outbox

model_assets = [health_weights, alerts_outbox]

__all__ = ["model_assets", "health_weights", "alerts_outbox"]
