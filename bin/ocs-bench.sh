#!/usr/bin/env bash
# Gy load generator on our codec: CCR/s and latency percentiles. See --help. Targets 127.0.0.0/8 only.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
GYOCS_LOG_CONFIG=${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2-client.xml}
GYOCS_JAVA_OPTS=${GYOCS_JAVA_OPTS:--XX:+UseParallelGC}
gyocs_java org.gyocs.cli.BenchCommand "$@"
