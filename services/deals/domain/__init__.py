"""The deals service's pure logic: the stage machine of a deal, the technology-contract record,
and the funnel's dimensions and counts. Nothing here touches Kafka or MongoDB."""
