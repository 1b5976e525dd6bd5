# Shared by the bin/ scripts: find the installation, build it when needed, run a Java entry point.
# Sourced, not executed.

GYOCS_HOME=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
GYOCS_JAR="$GYOCS_HOME/target/gy-ocs.jar"
# Written only once a build has finished: a build killed half way (Ctrl-C during the first start)
# leaves no stamp, so the half-written jar is never used and the next start builds again.
GYOCS_BUILT="$GYOCS_HOME/target/.built"
# The classes a start loads, as a class-data-sharing archive made after each build (see
# gyocs_train_startup); a start maps it instead of loading those classes one by one.
GYOCS_CDS="$GYOCS_HOME/target/gy-ocs.jsa"

# True when the last build did not finish, or what it built from has changed since.
gyocs_stale() {
	[ -s "$GYOCS_JAR" ] && [ -d "$GYOCS_HOME/target/lib" ] && [ -f "$GYOCS_BUILT" ] || return 0
	[ -n "$(find "$GYOCS_HOME/pom.xml" "$GYOCS_HOME/src/main" "$GYOCS_HOME/dictionary" -newer "$GYOCS_BUILT" -print -quit 2>/dev/null)" ]
}

# Builds the jar when stale. Quiet: the Maven log goes to target/build.log and is shown only on
# failure. Offline first, so a machine that already has the dependencies never touches the network.
gyocs_ensure_built() {
	gyocs_stale || return 0
	command -v mvn >/dev/null 2>&1 || { echo "Error: Maven (mvn) is needed to build gy-ocs" >&2; exit 1; }
	mkdir -p "$GYOCS_HOME/target"
	(
		# one build at a time when several scripts start together
		exec 9>"$GYOCS_HOME/target/.build.lock"
		flock 9
		gyocs_stale || exit 0
		echo "Building gy-ocs (first run or sources changed)..." >&2
		rm -f "$GYOCS_BUILT" "$GYOCS_CDS"
		log="$GYOCS_HOME/target/build.log"
		# the formatter check is the tests' business (mvn test): a stray space in a local change
		# should not keep the node from starting
		local build=(-f "$GYOCS_HOME/pom.xml" -DskipTests -Dspotless.check.skip=true package)
		if ! mvn -q -o "${build[@]}" >"$log" 2>&1 && ! mvn -q "${build[@]}" >"$log" 2>&1; then
			echo "Error: the build failed; last lines of $log:" >&2
			tail -n 30 "$log" >&2
			exit 1
		fi
		# the build finished (the jar may keep its old time when its content did not change)
		touch "$GYOCS_BUILT"
		gyocs_train_startup
	) || exit 1
}

# Starts and stops a node once (org.gyocs.cli.StartupTraining: loopback, ephemeral ports, a
# data directory and log of its own) to archive the classes it loads (-XX:ArchiveClassesAtExit):
# a second less of every start. Written under another name and renamed once whole: a JVM given a
# truncated archive crashes. Without it (the training failed) every start works as before.
gyocs_train_startup() {
	local dir
	dir=$(mktemp -d "$GYOCS_HOME/target/training.XXXXXX") || return 0 # beside the archive: mv renames
	# bounded: the build's lock is held meanwhile, and every bin/ script waits for it
	if timeout 300 java -XX:ArchiveClassesAtExit="$dir/gy-ocs.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
		-Dgyocs.home="$dir" -Dlog4j2.configurationFile="$GYOCS_HOME/config/log4j2.xml" \
		-cp "$GYOCS_JAR:$GYOCS_HOME/target/lib/*" org.gyocs.cli.StartupTraining "$GYOCS_HOME" \
		>"$GYOCS_HOME/target/training.log" 2>&1 && [ -s "$dir/gy-ocs.jsa" ]; then
		# on disk before its name (a power loss must not leave a named, zero-filled archive),
		# and readable by the service's user when root built it (bin/ocs.sh builds under umask 077)
		chmod a+r "$dir/gy-ocs.jsa" && sync -- "$dir/gy-ocs.jsa" && mv -f "$dir/gy-ocs.jsa" "$GYOCS_CDS"
	fi
	rm -rf "$dir"
}

# gyocs_java MAIN_CLASS ARGS... : runs an entry point with the project's logging configuration.
gyocs_java() {
	local main=$1
	shift
	gyocs_ensure_built
	local cds=()
	# the archive matches this build's classpath; the JVM checks that and ignores it otherwise
	[ -r "$GYOCS_CDS" ] && [ -s "$GYOCS_CDS" ] && cds=(-XX:SharedArchiveFile="$GYOCS_CDS" -Xlog:cds=off -Xlog:cds+dynamic=off)
	# shellcheck disable=SC2086
	exec java ${cds[@]+"${cds[@]}"} ${GYOCS_JAVA_OPTS:-} \
		-Dgyocs.home="$GYOCS_HOME" \
		-Dlog4j2.configurationFile="${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2.xml}" \
		-cp "$GYOCS_JAR:$GYOCS_HOME/target/lib/*" \
		"$main" "$@"
}
