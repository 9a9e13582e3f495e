#!/usr/bin/env bash
# The apache/kafka image's own start (/etc/kafka/docker/run), with one step before it: the storage is
# formatted with the operators' SCRAM-SHA-512 credential (hardtech-admin), which the node's own
# connections use; a volume formatted earlier is left as it is. Also writes the client settings its
# health check connects with. Mounted by docker-compose.yml.
set -euo pipefail
: "${KAFKA_ADMIN_PASSWORD:?KAFKA_ADMIN_PASSWORD is not set}"
. /etc/kafka/docker/bash-config
/etc/kafka/docker/configure
/opt/kafka/bin/kafka-storage.sh format --cluster-id="$CLUSTER_ID" -c /opt/kafka/config/server.properties \
  --add-scram "SCRAM-SHA-512=[name=hardtech-admin,password=$KAFKA_ADMIN_PASSWORD]" --ignore-formatted
umask 077
cat > /tmp/admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="hardtech-admin" password="$KAFKA_ADMIN_PASSWORD";
PROPERTIES
exec /etc/kafka/docker/run
