"""The pure core of events_sessions: sessions, seats and waitlists, meeting requests, agendas.

No Kafka or MongoDB here: every function takes a state and returns a decision, so the rules
are unit-tested on their own and the adapters only store and publish what was decided.
"""
