# Shared by the bin/ scripts: find the installation, build it when needed, run a Java entry point.
# Sourced, not executed.

GYOCS_HOME=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# What Maven builds. No node runs from it: a build rewrites it in place, and a node started before
# could then no longer load the classes it had not loaded yet (a bin/ script run after a git pull
# or an edit rebuilt it under a running node, which then closed every new peer's connection).
GYOCS_JAR="$GYOCS_HOME/target/gy-ocs.jar"
# Each finished build is copied to a directory of its own under target/run (the jar, its
# libraries and the class-data-sharing archive made for them), never changed afterwards; this
# link names the newest, and a start runs from where it points then.
GYOCS_CURRENT="$GYOCS_HOME/target/current"
# Written only once a build has finished: a build killed half way (Ctrl-C during the first start)
# leaves no stamp, so the half-written jar is never used and the next start builds again.
GYOCS_BUILT="$GYOCS_HOME/target/.built"

# A line of the release file of the JDK a java binary belongs to: $2 is JAVA_VERSION (its feature
# version is the number before the first dot: 17, 25) or JAVA_RUNTIME_VERSION (25.0.3+9-LTS); empty
# when it has none (a JRE unpacked without it, a wrapper script). Reading it takes no JVM start.
gyocs_java_release() {
	local home
	home=$(dirname "$(dirname "$(readlink -f "$1")")")
	[ -r "$home/release" ] || return 0
	sed -n "s/^$2=\"\\([^\"]*\\)\".*/\\1/p" "$home/release" | head -n 1 || true
}

# The feature version (17, 25) of a java binary's JDK, from its release file; empty without one.
gyocs_java_version() {
	local v
	v=$(gyocs_java_release "$1" JAVA_VERSION)
	v=${v#1.} # Java 8 and before: 1.8.0_392
	v=${v%%.*}
	case $v in '' | *[!0-9]*) ;; *) echo "$v" ;; esac
}

# Chooses the Java that runs gy-ocs, in GYOCS_JAVA_BIN, and the options that go with its version
# in GYOCS_JAVA_FLAGS: GYOCS_JAVA (a java binary) when set, else JAVA_HOME's, else the newest of
# `java` on the PATH and the JDKs under /usr/lib/jvm (GYOCS_JVM_DIR); a `java` on the PATH whose
# version cannot be read (a version manager's shim, a wrapper script) is the user's choice, and
# kept. Why the newest: the same build spent less CPU per CCR in jDiameter mode on Java 25 (with
# compact object headers: 8-byte object headers instead of 12) than on Debian's default Java 17,
# with a connection kept open (bench/RESULTS.md, "Java 25", 2026-12-04). Maven builds for Java 17.
gyocs_pick_java() {
	local bin="" version="" candidate v
	if [ -n "${GYOCS_JAVA:-}" ]; then
		bin=$GYOCS_JAVA
		[ -x "$(command -v "$bin" 2>/dev/null)" ] || {
			echo "Error: GYOCS_JAVA=$bin is not an executable java" >&2
			exit 1
		}
	elif [ -n "${JAVA_HOME:-}" ]; then
		bin=$JAVA_HOME/bin/java
		[ -x "$bin" ] || {
			echo "Error: JAVA_HOME=$JAVA_HOME has no bin/java (unset it to run the newest Java found)" >&2
			exit 1
		}
	else
		candidate=$(command -v java 2>/dev/null || true)
		if [ -n "$candidate" ] && [ -x "$candidate" ]; then
			bin=$candidate
			version=$(gyocs_java_version "$candidate")
		fi
		# the PATH's java of a version unknown is kept; else a newer JDK of a known version wins
		if [ -z "$bin" ] || [ -n "$version" ]; then
			for candidate in "${GYOCS_JVM_DIR:-/usr/lib/jvm}"/*/bin/java; do
				[ -x "$candidate" ] || continue
				v=$(gyocs_java_version "$candidate")
				[ -n "$v" ] && { [ -z "$bin" ] || [ "$v" -gt "$version" ]; } || continue
				bin=$candidate
				version=$v
			done
		fi
	fi
	if [ -z "$bin" ] || ! [ -x "$(command -v "$bin" 2>/dev/null)" ]; then
		echo "Error: Java 17 or later is needed to run gy-ocs (none found: install openjdk-17-jre-headless, or set JAVA_HOME)" >&2
		exit 1
	fi
	version=$(gyocs_java_version "$(command -v "$bin")")
	if [ -n "$version" ] && [ "$version" -lt 17 ]; then
		echo "Error: gy-ocs needs Java 17 or later; $bin is Java $version (set JAVA_HOME to a newer one)" >&2
		exit 1
	fi
	GYOCS_JAVA_BIN=$bin
	GYOCS_JAVA_FLAGS=()
	# a product option from Java 25 on (JEP 519); an experimental one before
	if [ -n "$version" ] && [ "$version" -ge 25 ]; then
		GYOCS_JAVA_FLAGS+=(-XX:+UseCompactObjectHeaders)
	fi
}

# The chosen Java, its exact version and its options, as one line: what a start-up archive is
# made for (a JDK updated in place keeps its path, and the JVM rejects an archive of another build).
gyocs_java_identity() {
	[ -n "${GYOCS_JAVA_BIN:-}" ] || gyocs_pick_java
	local path flags=${GYOCS_JAVA_FLAGS[*]+"${GYOCS_JAVA_FLAGS[*]}"}
	path=$(readlink -f "$(command -v "$GYOCS_JAVA_BIN")")
	echo "$path $(gyocs_java_release "$path" JAVA_RUNTIME_VERSION)${flags:+ $flags}"
}

# Sets GYOCS_CDS to the JVM options that map a build's start-up archive ($1: the build's
# directory), when it has one made for the Java chosen now. Another Java (a JDK installed or
# updated since the build, a JAVA_HOME of another shell) starts without it, a second slower, and
# builds nothing: the jar is the same for every Java, and a service's user may not write the build.
gyocs_cds_options() {
	local build=$1
	GYOCS_CDS=()
	[ -r "$build/gy-ocs.jsa" ] && [ -s "$build/gy-ocs.jsa" ] || return 0
	if [ "$(cat "$build/gy-ocs.jsa.java" 2>/dev/null)" != "$(gyocs_java_identity)" ]; then
		echo "Note: this build's start-up archive was made for another Java; starting without it (a second slower). To make it again: rm $GYOCS_BUILT, then run any bin/ script as the user who builds" >&2
		return 0
	fi
	GYOCS_CDS=(-XX:SharedArchiveFile="$build/gy-ocs.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off)
}

# True when the last build did not finish, or what it built from has changed since.
gyocs_stale() {
	[ -s "$GYOCS_CURRENT/gy-ocs.jar" ] && [ -d "$GYOCS_CURRENT/lib" ] && [ -f "$GYOCS_BUILT" ] || return 0
	[ -n "$(find "$GYOCS_HOME/pom.xml" "$GYOCS_HOME/src/main" "$GYOCS_HOME/dictionary" -newer "$GYOCS_BUILT" -print -quit 2>/dev/null)" ]
}

# Builds the jar when stale. Quiet: the Maven log goes to target/build.log and is shown only on
# failure. Offline first, so a machine that already has the dependencies never touches the network.
gyocs_ensure_built() {
	gyocs_stale || return 0
	command -v mvn >/dev/null 2>&1 || { echo "Error: Maven (mvn) is needed to build gy-ocs" >&2; exit 1; }
	(
		# the code is no secret, and the service's user must read what root built (bin/ocs.sh
		# runs under umask 077 for data/, which the build does not touch)
		umask 022
		mkdir -p "$GYOCS_HOME/target"
		# one build at a time when several scripts start together
		exec 9>"$GYOCS_HOME/target/.build.lock"
		flock 9
		gyocs_stale || exit 0
		echo "Building gy-ocs (first run or sources changed)..." >&2
		rm -f "$GYOCS_BUILT"
		# the time the build starts: a source saved while it runs is newer, and built next time
		touch "$GYOCS_BUILT.new"
		# Maven writes the jar in place: a node still running from it (one started before builds
		# had directories of their own) keeps the file it opened, and the archive it mapped
		rm -f "$GYOCS_JAR" "$GYOCS_HOME/target/gy-ocs.jsa"
		log="$GYOCS_HOME/target/build.log"
		# the formatter check is the tests' business (mvn test): a stray space in a local change
		# should not keep the node from starting
		local build=(-f "$GYOCS_HOME/pom.xml" -DskipTests -Dspotless.check.skip=true package)
		if ! mvn -q -o "${build[@]}" >"$log" 2>&1 && ! mvn -q "${build[@]}" >"$log" 2>&1; then
			echo "Error: the build failed; last lines of $log:" >&2
			tail -n 30 "$log" >&2
			exit 1
		fi
		gyocs_install_build || exit 1
		# the build finished, stamped with the time it began
		mv -f "$GYOCS_BUILT.new" "$GYOCS_BUILT"
	) || exit 1
}

# Copies the build to a directory of its own, trains its start-up archive there, then points
# target/current at it (a rename: a start sees the old build or the new one, whole). Directories
# of earlier builds go unless a process still runs from one, and the one before the newest stays
# (a start may have resolved the link just before it moved).
gyocs_install_build() {
	local runs id dir previous
	runs="$(readlink -f "$GYOCS_HOME/target")/run"
	id=$(date +%Y%m%d-%H%M%S)-$$
	dir="$runs/$id"
	mkdir -p "$dir" && cp -p "$GYOCS_JAR" "$dir/gy-ocs.jar" && cp -rp "$GYOCS_HOME/target/lib" "$dir/lib" || {
		echo "Error: cannot copy the build to $dir" >&2
		rm -rf "$dir"
		return 1
	}
	gyocs_train_startup "$dir"
	previous=$(readlink -f "$GYOCS_CURRENT" 2>/dev/null || true)
	ln -sfn "run/$id" "$GYOCS_CURRENT.new" && mv -T "$GYOCS_CURRENT.new" "$GYOCS_CURRENT" || return 1
	local old
	for old in "$runs"/*; do
		[ -d "$old" ] && [ "$old" != "$dir" ] && [ "$old" != "$previous" ] || continue
		# a node, client or admin command started from it: its java command line names the directory
		grep -qsF "$old/" /proc/[0-9]*/cmdline && continue
		rm -rf "$old" || echo "Warning: cannot remove the earlier build $old" >&2
	done
	return 0
}

# Starts and stops a node once (org.gyocs.cli.StartupTraining: loopback, ephemeral ports, a
# data directory and log of its own) to archive the classes it loads (-XX:ArchiveClassesAtExit):
# a second less of every start. Written under another name and renamed once whole: a JVM given a
# truncated archive crashes. Without it (the training failed) every start works as before.
# $1: the build's directory (its gy-ocs.jar and lib/; the archive goes beside them).
gyocs_train_startup() {
	local build=$1 dir
	dir=$(mktemp -d "$build/training.XXXXXX") || return 0 # beside the archive: mv renames
	# bounded: the build's lock is held meanwhile, and every bin/ script waits for it
	# shellcheck disable=SC2086
	if timeout 300 "$GYOCS_JAVA_BIN" ${GYOCS_JAVA_FLAGS[@]+"${GYOCS_JAVA_FLAGS[@]}"} \
		-XX:ArchiveClassesAtExit="$dir/gy-ocs.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
		-Dgyocs.home="$dir" -Dlog4j2.configurationFile="$GYOCS_HOME/config/log4j2.xml" \
		-cp "$build/gy-ocs.jar:$build/lib/*" org.gyocs.cli.StartupTraining "$GYOCS_HOME" \
		>"$GYOCS_HOME/target/training.log" 2>&1 && [ -s "$dir/gy-ocs.jsa" ]; then
		# on disk before its name (a power loss must not leave a named, zero-filled archive),
		# and readable by the service's user when root built it (bin/ocs.sh builds under umask 077)
		chmod a+r "$dir/gy-ocs.jsa" && sync -- "$dir/gy-ocs.jsa" && mv -f "$dir/gy-ocs.jsa" "$build/gy-ocs.jsa" &&
			gyocs_java_identity >"$build/gy-ocs.jsa.java"
	fi
	rm -rf "$dir"
}

# gyocs_java MAIN_CLASS ARGS... : runs an entry point with the project's logging configuration.
gyocs_java() {
	local main=$1
	shift
	gyocs_pick_java
	gyocs_ensure_built
	# the build as it is now: a later build leaves this one's directory as it is
	local build
	build=$(readlink -f "$GYOCS_CURRENT")
	gyocs_cds_options "$build"
	# shellcheck disable=SC2086
	exec "$GYOCS_JAVA_BIN" ${GYOCS_JAVA_FLAGS[@]+"${GYOCS_JAVA_FLAGS[@]}"} ${GYOCS_CDS[@]+"${GYOCS_CDS[@]}"} ${GYOCS_JAVA_OPTS:-} \
		-Dgyocs.home="$GYOCS_HOME" \
		-Dlog4j2.configurationFile="${GYOCS_LOG_CONFIG:-$GYOCS_HOME/config/log4j2.xml}" \
		-cp "$build/gy-ocs.jar:$build/lib/*" \
		"$main" "$@"
}
