"""Contracts every service imports: event envelope and schemas, topics, taxonomy, regions,
settings, identity, and the Kafka, MongoDB and outbox mechanisms. No service imports another."""
