"""The ``hardtech`` command: installs and runs the local stack (Kafka, FerretDB, services)."""
