#!/usr/bin/env bash
# Subscriber administration: list, show, add, topup, delete, import. Works while the node runs.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
GYOCS_LOG_CONFIG=${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2-client.xml}
# A bounded heap, as the node's: unbounded, the JVM grew it to 2.4 GB during an import of 100,000
# subscribers and spent more time touching that memory than importing (12 s instead of 6 s).
GYOCS_JAVA_OPTS="-Xmx${GYOCS_HEAP:-1g} ${GYOCS_JAVA_OPTS:-}"
gyocs_java org.gyocs.cli.AdminCommand "$@"
