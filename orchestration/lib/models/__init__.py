"""The Python models: the health score's weights and evidence (health_model) and the churn and
expansion models that score every account-day (churn_model)."""
