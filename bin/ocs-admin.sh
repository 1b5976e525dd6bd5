#!/usr/bin/env bash
# Subscriber administration: list, show, add, topup, delete, import. Works while the node runs.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
GYOCS_LOG_CONFIG=${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2-client.xml}
gyocs_java org.gyocs.cli.AdminCommand "$@"
