# Shared by the bin/ scripts: find the installation, build it when needed, run a Java entry point.
# Sourced, not executed.

GYOCS_HOME=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
GYOCS_JAR="$GYOCS_HOME/target/gy-ocs.jar"

# Builds target/gy-ocs.jar (and target/lib) when it is missing or older than pom.xml or src/main.
# Quiet: the Maven log goes to target/build.log and is shown only on failure. Offline first, so a
# machine that already has the dependencies never touches the network.
gyocs_ensure_built() {
	local stale=0
	if [ ! -s "$GYOCS_JAR" ] || [ ! -d "$GYOCS_HOME/target/lib" ]; then
		stale=1
	elif [ -n "$(find "$GYOCS_HOME/pom.xml" "$GYOCS_HOME/src/main" -newer "$GYOCS_JAR" -print -quit 2>/dev/null)" ]; then
		stale=1
	fi
	[ "$stale" = 1 ] || return 0
	command -v mvn >/dev/null 2>&1 || { echo "Error: Maven (mvn) is needed to build gy-ocs" >&2; exit 1; }
	mkdir -p "$GYOCS_HOME/target"
	(
		# one build at a time when several scripts start together
		exec 9>"$GYOCS_HOME/target/.build.lock"
		flock 9
		if [ -s "$GYOCS_JAR" ] && [ -z "$(find "$GYOCS_HOME/pom.xml" "$GYOCS_HOME/src/main" -newer "$GYOCS_JAR" -print -quit 2>/dev/null)" ] \
			&& [ -d "$GYOCS_HOME/target/lib" ]; then
			exit 0
		fi
		echo "Building gy-ocs (first run or sources changed)..." >&2
		local log="$GYOCS_HOME/target/build.log"
		if ! mvn -q -o -f "$GYOCS_HOME/pom.xml" -DskipTests package >"$log" 2>&1; then
			if ! mvn -q -f "$GYOCS_HOME/pom.xml" -DskipTests package >"$log" 2>&1; then
				echo "Error: the build failed; last lines of $log:" >&2
				tail -n 30 "$log" >&2
				exit 1
			fi
		fi
		# the jar may keep its old time when nothing changed in it: mark the build as current
		touch "$GYOCS_JAR"
	) || exit 1
}

# gyocs_java MAIN_CLASS ARGS... : runs an entry point with the project's logging configuration.
gyocs_java() {
	local main=$1
	shift
	gyocs_ensure_built
	# shellcheck disable=SC2086
	exec java ${GYOCS_JAVA_OPTS:-} \
		-Dgyocs.home="$GYOCS_HOME" \
		-Dlog4j2.configurationFile="${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2.xml}" \
		-cp "$GYOCS_JAR:$GYOCS_HOME/target/lib/*:$GYOCS_HOME/dictionary" \
		"$main" "$@"
}
