#!/usr/bin/env bash
# The container's entry point: the node (as bin/ocs.sh runs it, without the build step: the image
# holds the built jar), with settings from the environment, then any bin/ocs.sh options given to
# `docker run IMAGE ...`, which win.
#   GYOCS_HOST, GYOCS_REALM        Origin-Host and Origin-Realm
#   GYOCS_PORT                     Diameter port (3868)
#   GYOCS_STORE, GYOCS_STORE_USER  balance store JDBC URL and user (default: embedded, in data/)
#   GYOCS_STORE_PASSWORD           its password (read by the node itself, never on a command line)
#   GYOCS_ADMIN_PORT               HTTP interface port (8080; 0: none)
#   GYOCS_ADMIN_IP                 its address (127.0.0.1: only the HEALTHCHECK inside the container
#                                  reaches it; 0.0.0.0 needs GYOCS_ADMIN_TOKEN_FILE)
#   GYOCS_ADMIN_TOKEN_FILE         file holding the bearer token (mount it as a secret, mode 0600)
#   GYOCS_MOCK=true                mock mode (our own codec instead of jDiameter)
#   GYOCS_HEAP                     JVM heap (1g)
set -euo pipefail
GYOCS_HOME=${GYOCS_HOME:-/opt/gy-ocs}
umask 077
args=()
add() { [ -n "${2:-}" ] && args+=("$1" "$2"); return 0; }
add --host "${GYOCS_HOST:-}"
add --realm "${GYOCS_REALM:-}"
add --port "${GYOCS_PORT:-}"
add --store "${GYOCS_STORE:-}"
add --store-user "${GYOCS_STORE_USER:-}"
add --admin-port "${GYOCS_ADMIN_PORT:-}"
add --admin-ip "${GYOCS_ADMIN_IP:-}"
add --admin-token-file "${GYOCS_ADMIN_TOKEN_FILE:-}"
[ "${GYOCS_MOCK:-false}" = true ] && args+=(--mock)
cd "$GYOCS_HOME"
# compact object headers from Java 25 on, as bin/lib/common.sh gives them (less CPU per CCR); its
# version read is repeated here, as the image holds no bin/ scripts and sourcing common.sh would
# set GYOCS_HOME to its own installation
jvm=()
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$java_home/release" 2>/dev/null | head -n 1 || true)
[ -n "$version" ] && [ "$version" -ge 25 ] && jvm+=(-XX:+UseCompactObjectHeaders)
# shellcheck disable=SC2086
exec java ${jvm[@]+"${jvm[@]}"} -Xmx"${GYOCS_HEAP:-1g}" -XX:+ExitOnOutOfMemoryError ${GYOCS_JAVA_OPTS:-} \
	-Dgyocs.home="$GYOCS_HOME" -Dlog4j2.configurationFile="$GYOCS_HOME/config/log4j2.xml" \
	-cp "${GYOCS_CLASSPATH:-$GYOCS_HOME/target/gy-ocs.jar:$GYOCS_HOME/target/lib/*}" org.gyocs.cli.OcsCommand \
	"${args[@]}" "$@"
