#!/usr/bin/env bash
# Gy test client on jDiameter: N sessions (CCR-I/U/T) or N events against an OCS. See --help.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
GYOCS_LOG_CONFIG=${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2-client.xml}
gyocs_java org.gyocs.cli.ClientCommand "$@"
