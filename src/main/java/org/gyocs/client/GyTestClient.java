package org.gyocs.client;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import org.gyocs.codec.CommandCodes;
import org.gyocs.core.RequestType;
import org.gyocs.core.SubscriptionId;
import org.gyocs.gy.jdiameter.StackShutdown;
import org.gyocs.node.ListeningPorts;
import org.jdiameter.api.Answer;
import org.jdiameter.api.ApplicationId;
import org.jdiameter.api.Avp;
import org.jdiameter.api.AvpSet;
import org.jdiameter.api.EventListener;
import org.jdiameter.api.Peer;
import org.jdiameter.api.PeerState;
import org.jdiameter.api.PeerTable;
import org.jdiameter.api.Request;
import org.jdiameter.api.Session;
import org.jdiameter.server.impl.StackImpl;
import org.jdiameter.server.impl.helpers.XMLConfiguration;

/**
 * A Gy client on jDiameter, for tests and {@code bin/ocs-client.sh}: connects to one server
 * (CER/CEA by the stack) and sends CCRs on raw sessions, so that a test can send any request,
 * broken ones included.
 */
public final class GyTestClient implements AutoCloseable {
    public static final String SERVICE_CONTEXT_GY = "32251@3gpp.org";
    public static final long DEFAULT_RSU_OCTETS = 1_048_576;
    public static final long DEFAULT_USU_OCTETS = 524_288;
    public static final long RATING_GROUP = 100;
    public static final long SERVICE_IDENTIFIER = 1;
    private static final ApplicationId GY = ApplicationId.createByAuthAppId(0, 4);

    private final String serverAddress;
    private final int serverPort;
    private final String originHost;
    private final String destinationRealm;
    private final long timeoutMillis;
    // Per-boot random part: jDiameter's own ids repeat after a restart at more than ~1 session/ms.
    private final String bootId = Long.toUnsignedString(new SecureRandom().nextInt() & 0xffffffffL);
    private final AtomicLong sessionCounter = new AtomicLong();
    private StackImpl stack;

    /**
     * @param serverAddress     IP address or name of the OCS
     * @param serverPort        its port
     * @param originHost        our Origin-Host; our realm is its domain part
     * @param destinationRealm  Destination-Realm of each CCR
     * @param timeoutMillis     answer timeout per request, and the connect timeout
     */
    public GyTestClient(String serverAddress, int serverPort, String originHost, String destinationRealm,
                        long timeoutMillis) {
        this.serverAddress = serverAddress;
        this.serverPort = serverPort;
        this.originHost = originHost;
        this.destinationRealm = destinationRealm;
        this.timeoutMillis = timeoutMillis;
    }

    /**
     * Connects and waits for the CER/CEA exchange.
     *
     * @throws ClientException "Connection refused" when nothing listens, or a timeout
     */
    public void connect() throws ClientException {
        if (!reachable()) {
            throw new ClientException("Connection refused. Is the server running on " + serverAddress + ":" + serverPort + "?");
        }
        try {
            stack = new StackImpl();
            stack.init(new XMLConfiguration(new ByteArrayInputStream(configuration().getBytes(StandardCharsets.UTF_8))));
            // the OCS's RARs and ASRs (RFC 4006 5.5, RFC 6733 8.5): answered 2001, counted
            stack.unwrap(org.jdiameter.api.Network.class).addNetworkReqListener(this::serverRequest, GY);
            stack.start();
        } catch (Exception e) {
            close();
            throw new ClientException("Cannot start the Diameter client: " + e.getMessage(), e);
        }
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (System.nanoTime() < deadline) {
            if (peerUp()) {
                // A jDiameter server can drop a request arriving within milliseconds of its CEA
                // (see README, troubleshooting): leave its peer state machine time to settle.
                sleep(100);
                return;
            }
            sleep(10);
        }
        close();
        throw new ClientException("No capabilities exchange with " + serverAddress + ":" + serverPort + " within "
                + timeoutMillis / 1000.0 + " s (did the server refuse our CER?)");
    }

    private final java.util.Map<String, java.util.concurrent.atomic.LongAdder> serverRequests =
            new java.util.concurrent.ConcurrentHashMap<>();
    private volatile java.util.function.BiConsumer<String, String> onServerRequest = (command, session) -> { };

    /** Told ("RAR" or "ASR", Session-Id) of each request the OCS sends, after it is answered. */
    public void onServerRequest(java.util.function.BiConsumer<String, String> listener) {
        onServerRequest = listener;
    }

    /** The RARs and ASRs the OCS sent, by command ("RAR", "ASR"). */
    public long serverRequests(String command) {
        java.util.concurrent.atomic.LongAdder n = serverRequests.get(command);
        return n == null ? 0 : n.sum();
    }

    /** A PCEF's answer to the OCS's RAR or ASR: 2001 with our identity (RFC 6733 8.3.2, 8.5.2). */
    private Answer serverRequest(Request request) {
        String command = request.getCommandCode() == CommandCodes.RE_AUTH ? "RAR"
                : request.getCommandCode() == CommandCodes.ABORT_SESSION ? "ASR" : null;
        if (command == null) {
            Answer unsupported = request.createAnswer(3001); // DIAMETER_COMMAND_UNSUPPORTED
            unsupported.setError(true);
            return unsupported;
        }
        Answer a = request.createAnswer(2001); // the stack adds our Origin-Host and Origin-Realm as it sends it
        serverRequests.computeIfAbsent(command, k -> new java.util.concurrent.atomic.LongAdder()).increment();
        onServerRequest.accept(command, request.getSessionId());
        return a;
    }

    private boolean reachable() {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(new java.net.InetSocketAddress(serverAddress, serverPort), (int) Math.min(timeoutMillis, 5000));
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** True while the server peer is connected and past CER/CEA. */
    public boolean isPeerUp() {
        return stack != null && peerUp();
    }

    private boolean peerUp() {
        try {
            for (Peer p : stack.unwrap(PeerTable.class).getPeerTable()) {
                if (p.getState(PeerState.class) == PeerState.OKAY) {
                    return true;
                }
            }
        } catch (Exception e) {
            return false;
        }
        return false;
    }

    /** A new Session-Id: origin-host;boot;counter (RFC 6733 section 8.8). */
    public String newSessionId() {
        return originHost + ";" + bootId + ";" + sessionCounter.incrementAndGet();
    }

    /**
     * A CCR with Session-Id, Auth-Application-Id, Origin-Host/Realm and Destination-Realm only,
     * for tests that build the rest themselves.
     */
    public Request newRequest(String sessionId) throws ClientException {
        try {
            Session session = stack.getSessionFactory().getNewSession(sessionId);
            Request r = session.createRequest(CommandCodes.CREDIT_CONTROL, GY, destinationRealm);
            r.getAvps().removeAvp(Avp.AUTH_APPLICATION_ID);
            r.getAvps().addAvp(Avp.AUTH_APPLICATION_ID, 4L, true, false, true);
            return r;
        } catch (Exception e) {
            throw new ClientException("Cannot create a request: " + e.getMessage(), e);
        }
    }

    /**
     * A complete Gy CCR as a PCEF sends it: one MSCC (Rating-Group 100, Service-Identifier 1)
     * with a Requested-Service-Unit (not in CCR-T) and a Used-Service-Unit (CCR-U and CCR-T).
     */
    public Request creditControlRequest(String sessionId, RequestType type, long number, String msisdn)
            throws ClientException {
        Request r = newRequest(sessionId);
        AvpSet avps = r.getAvps();
        avps.addAvp(Avp.SERVICE_CONTEXT_ID, SERVICE_CONTEXT_GY, true, false, false);
        avps.addAvp(Avp.CC_REQUEST_TYPE, type.code(), true, false);
        avps.addAvp(Avp.CC_REQUEST_NUMBER, number, true, false, true);
        avps.addAvp(Avp.EVENT_TIMESTAMP, new Date(), true, false);
        AvpSet sub = avps.addGroupedAvp(Avp.SUBSCRIPTION_ID, true, false);
        sub.addAvp(Avp.SUBSCRIPTION_ID_TYPE, SubscriptionId.END_USER_E164, true, false);
        sub.addAvp(Avp.SUBSCRIPTION_ID_DATA, msisdn, true, false, false);
        if (type == RequestType.EVENT) {
            avps.addAvp(Avp.REQUESTED_ACTION, 0, true, false); // DIRECT_DEBITING
        }
        if (type == RequestType.TERMINATION) {
            avps.addAvp(Avp.TERMINATION_CAUSE, 1, true, false); // DIAMETER_LOGOUT
        }
        if (type == RequestType.INITIAL || type == RequestType.EVENT) {
            avps.addAvp(Avp.MULTIPLE_SERVICES_INDICATOR, 1, true, false); // MULTIPLE_SERVICES_SUPPORTED
        }
        AvpSet mscc = avps.addGroupedAvp(Avp.MULTIPLE_SERVICES_CREDIT_CONTROL, true, false);
        if (type != RequestType.TERMINATION) {
            mscc.addGroupedAvp(Avp.REQUESTED_SERVICE_UNIT, true, false)
                    .addAvp(Avp.CC_TOTAL_OCTETS, DEFAULT_RSU_OCTETS, true, false);
        }
        if (type == RequestType.UPDATE || type == RequestType.TERMINATION) {
            mscc.addGroupedAvp(Avp.USED_SERVICE_UNIT, true, false)
                    .addAvp(Avp.CC_TOTAL_OCTETS, DEFAULT_USU_OCTETS, true, false);
        }
        mscc.addAvp(Avp.SERVICE_IDENTIFIER_CCA, SERVICE_IDENTIFIER, true, false, true);
        mscc.addAvp(Avp.RATING_GROUP, RATING_GROUP, true, false, true);
        return r;
    }

    /**
     * Sends a request and waits for its answer.
     *
     * @throws ClientException on timeout ("no answer within ...") or a send failure
     */
    public Answer send(Request request) throws ClientException {
        CompletableFuture<Answer> result = new CompletableFuture<>();
        try {
            Session session = stack.getSessionFactory().getNewSession(request.getSessionId());
            session.send(request, new EventListener<Request, Answer>() {
                @Override
                public void receivedSuccessMessage(Request req, Answer answer) {
                    result.complete(answer);
                }

                @Override
                public void timeoutExpired(Request req) {
                    result.completeExceptionally(new TimeoutException());
                }
            }, timeoutMillis, TimeUnit.MILLISECONDS);
            return result.get(timeoutMillis + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new ClientException("no answer within " + timeoutMillis / 1000.0 + " s", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TimeoutException) {
                throw new ClientException("no answer within " + timeoutMillis / 1000.0 + " s", e);
            }
            throw new ClientException("send failed: " + e.getCause(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClientException("interrupted", e);
        } catch (Exception e) {
            throw new ClientException("send failed: " + e.getMessage(), e);
        }
    }

    /** Sends DPR, stops the stack and every thread it started. Idempotent. */
    @Override
    public void close() {
        StackImpl s = stack;
        stack = null;
        if (s != null) {
            StackShutdown.shutdown(s, 2_000);
        }
    }

    private String configuration() {
        String realm = originHost.contains(".") ? originHost.substring(originHost.indexOf('.') + 1) : originHost;
        boolean loopback = serverAddress.startsWith("127.") || "localhost".equals(serverAddress);
        String peer = "aaa://" + serverAddress + ":" + serverPort;
        String app = "<ApplicationID><VendorId value=\"0\"/><AuthApplId value=\"4\"/><AcctApplId value=\"0\"/></ApplicationID>";
        // jDiameter's client stack also listens; an ephemeral port keeps several clients apart.
        return "<?xml version=\"1.0\"?>\n"
                + "<Configuration xmlns=\"http://www.jdiameter.org/jdiameter-server\">\n"
                + "<LocalPeer><URI value=\"aaa://" + originHost + ":" + ListeningPorts.freePort() + "\"/>"
                + "<IPAddresses><IPAddress value=\"" + (loopback ? "127.0.0.1" : "0.0.0.0") + "\"/></IPAddresses>"
                + "<Realm value=\"" + realm + "\"/><VendorID value=\"0\"/><ProductName value=\"gy-ocs-client\"/>"
                + "<FirmwareRevision value=\"1\"/><Applications>" + app + "</Applications></LocalPeer>\n"
                + "<Parameters><AcceptUndefinedPeer value=\"false\"/><DuplicateProtection value=\"false\"/><DuplicateTimer value=\"240000\"/>"
                + "<UseUriAsFqdn value=\"false\"/><QueueSize value=\"10000\"/><MessageTimeOut value=\"" + timeoutMillis + "\"/>"
                + "<StopTimeOut value=\"2000\"/><CeaTimeOut value=\"" + timeoutMillis + "\"/><IacTimeOut value=\"30000\"/>"
                + "<DwaTimeOut value=\"10000\"/><DpaTimeOut value=\"2000\"/><RecTimeOut value=\"10000\"/>"
                + "<Concurrent><Entity name=\"ApplicationSession\" size=\"2\"/></Concurrent></Parameters>\n"
                + "<Network><Peers><Peer name=\"" + peer + "\" ip=\"" + serverAddress
                + "\" attempt_connect=\"true\" rating=\"1\"/></Peers>"
                + "<Realms><Realm name=\"" + destinationRealm + "\" peers=\"" + serverAddress
                + "\" local_action=\"LOCAL\" dynamic=\"false\" exp_time=\"1\">" + app + "</Realm></Realms></Network>\n"
                + "<Extensions/></Configuration>\n";
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
