"""The pure core of the matching service: candidate index, scoring, the match engine, consortia
(五方联动) and the meeting-agenda planner. No Kafka, MongoDB or faust in here."""
