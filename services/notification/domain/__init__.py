"""The notification service's pure core: who is told what, in which language, on which channel,
and when a failed webhook is tried again. No Kafka, no MongoDB, no network here."""
