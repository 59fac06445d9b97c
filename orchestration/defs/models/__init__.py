"""Python model assets: health weights (fit), health evidence (back-test), alerts outbox."""

from orchestration.defs.models.health import health_evidence, health_weights
from orchestration.defs.models.outbox import alerts_outbox

model_assets = [health_weights, health_evidence, alerts_outbox]

__all__ = ["model_assets", "health_weights", "health_evidence", "alerts_outbox"]
