#!/usr/bin/env bash
# Runs the gy-ocs node (Diameter Gy OCS). Builds it first when needed. See --help.
# Environment: GYOCS_JAVA_OPTS (JVM options), GYOCS_LOG_CONFIG (another log4j2.xml).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
gyocs_java org.gyocs.cli.OcsCommand "$@"
