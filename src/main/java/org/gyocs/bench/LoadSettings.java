package org.gyocs.bench;

import java.nio.file.Path;
import java.util.List;

/**
 * What ocs-bench sends.
 *
 * @param host         target address (127.0.0.0/8 unless allowRemote)
 * @param port         target port
 * @param connections  TCP connections, each with its own CER/CEA
 * @param inFlight     requests outstanding at once over all connections (closed loop), or the cap (open loop)
 * @param sessions     sessions or events to run; 0 = until duration
 * @param durationSeconds  stop starting new ones after this; always a bound
 * @param eventMode    CCR-E instead of I/U.../T sessions
 * @param updates      CCR-U per session
 * @param subscribers  MSISDNs used in turn (from a CSV or a range)
 * @param rate         sessions or events started per second (open loop); 0 = closed loop
 * @param timeoutMillis  an answer later than this counts as a timeout
 * @param destinationRealm Destination-Realm of each CCR
 * @param originHost   our Origin-Host
 * @param json         where to write the results as JSON, or null
 * @param hold         session mode: send CCR-I and the updates but no CCR-T, leaving the sessions open
 *                     on the node (to measure what open sessions cost it)
 */
public record LoadSettings(String host, int port, int connections, int inFlight, long sessions, double durationSeconds,
                           boolean eventMode, int updates, List<String> subscribers, double rate, long timeoutMillis,
                           String destinationRealm, String originHost, Path json, boolean hold) {
}
