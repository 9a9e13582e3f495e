"""The listing service's pure core: request models with their rules, state changes of
participants and items, and the token-endpoint rate limiter. No Kafka, no MongoDB here."""
