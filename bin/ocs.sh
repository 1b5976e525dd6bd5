#!/usr/bin/env bash
# Runs the gy-ocs node (Diameter Gy OCS). Builds it first when needed. See --help.
# Environment: GYOCS_JAVA_OPTS (JVM options, after the defaults below, so they win),
# GYOCS_LOG_CONFIG (another log4j2.xml).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/common.sh"
# data/ holds every balance: what the node creates is for its own user only
umask 077
# A bounded heap, and an exit (so that systemd's Restart=always brings it back) rather than a
# process that stays alive answering nothing once the heap is exhausted.
GYOCS_JAVA_OPTS="-Xmx${GYOCS_HEAP:-1g} -XX:+ExitOnOutOfMemoryError ${GYOCS_JAVA_OPTS:-}"
gyocs_java org.gyocs.cli.OcsCommand "$@"
