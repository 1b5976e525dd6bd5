package org.gyocs.gy.nio;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.core.CreditControl;
import org.gyocs.core.NodeStatistics;
import org.gyocs.gy.GyPipeline;
import org.gyocs.node.ConnectedPeers;
import org.gyocs.node.DiameterNode;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.gyocs.node.TransportLimits;

/**
 * The Gy node on the project's own codec: a non-blocking TCP server with one event loop per core,
 * no Diameter stack. Same core, same answers as the jDiameter mode.
 */
public final class MockGyNode implements DiameterNode, MockContext {
    private static final Logger log = LogManager.getLogger(MockGyNode.class);

    /**
     * Threads deciding CCRs. A decision that changes a balance waits for its group commit, and a
     * commit is shared by the decisions waiting at the time: many workers, many per commit. A
     * session always goes to the same worker (its requests in order), so sessions that hash to
     * one worker wait for each other: 50 requests in flight kept 25 of 32 workers busy, and on
     * PostgreSQL (two commits for a CCR-I or CCR-T) that held the node to about 2,500 CCR/s, 2.7
     * CCRs per commit; with 256, 45 are busy, 8.5 CCRs share a commit, and the rate
     * is 1.6x (bench/RESULTS.md). A worker's thread starts with its first decision: the embedded
     * store's decisions mostly do not come here (answered after the journal's sync instead). On
     * Java 24 and later they are virtual threads (WorkerThreads).
     */
    static final int CHARGING_WORKERS = 256;

    private final NodeSettings settings;
    private final GyPipeline pipeline;
    private final ConnectedPeers peers;
    private final NodeStatistics statistics;
    private final BaseMessages base;
    private final AtomicInteger open = new AtomicInteger();
    private final List<EventLoop> loops = new ArrayList<>();
    private final List<java.util.concurrent.ExecutorService> workers = new ArrayList<>();
    /** What the event loops read; replaced, never changed, so they need no lock. */
    private volatile java.util.concurrent.ExecutorService[] workerArray = new java.util.concurrent.ExecutorService[0];
    private final AtomicInteger nextLoop = new AtomicInteger();
    private ServerSocketChannel server;
    private int port;
    private ServerSocketChannel tlsServer;
    private int tlsPort;

    public MockGyNode(NodeSettings settings, CreditControl core, NodeStatistics statistics) {
        this(settings, new GyPipeline(core, statistics, settings.originHost(), settings.realm()));
    }

    /**
     * Charging decisions are made on the event loops, their answers sent once synced, when the
     * pipeline has the store's sync points ({@link GyPipeline#answersAfterSync}); else on the
     * charging workers, which wait.
     */
    public MockGyNode(NodeSettings settings, GyPipeline pipeline) {
        this.settings = settings;
        this.pipeline = pipeline;
        this.statistics = pipeline.statistics();
        this.peers = pipeline.peers();
        // Origin-State-Id (RFC 6733 8.16): changes with every start, so peers see the restart.
        this.base = new BaseMessages(settings.originHost(), settings.realm(), System.currentTimeMillis() / 1000);
    }

    @Override
    public synchronized void start() throws NodeStartException {
        if (server != null) {
            throw new IllegalStateException("already started");
        }
        ListeningPorts.checkBindable(settings.bindAddress(), settings.port());
        // read dictionary.xml now, not on the first CCR (and fail the start, not a request, if it is broken)
        org.gyocs.codec.GyDictionary.get();
        try {
            server = ServerSocketChannel.open();
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(new InetSocketAddress(InetAddress.getByName(settings.bindAddress()), settings.port()), 1024);
            server.configureBlocking(false);
            port = ((InetSocketAddress) server.getLocalAddress()).getPort();
            int n = Math.max(1, Runtime.getRuntime().availableProcessors());
            for (int i = 0; i < n; i++) {
                loops.add(new EventLoop("mock-io-" + i, this, this::admit));
            }
            for (int i = 0; i < CHARGING_WORKERS; i++) {
                String name = "mock-charging-" + i;
                workers.add(java.util.concurrent.Executors.newSingleThreadExecutor(WorkerThreads.named(name)));
            }
            workerArray = workers.toArray(new java.util.concurrent.ExecutorService[0]);
            log.info("Charging workers: {} on {}", CHARGING_WORKERS, WorkerThreads.describe());
            loops.forEach(EventLoop::start);
            loops.get(0).listen(server, null);
            if (settings.tls() != null) {
                tlsServer = ServerSocketChannel.open();
                tlsServer.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                tlsServer.bind(new InetSocketAddress(InetAddress.getByName(settings.bindAddress()), settings.tls().port()), 1024);
                tlsServer.configureBlocking(false);
                tlsPort = ((InetSocketAddress) tlsServer.getLocalAddress()).getPort();
                loops.get(0).listen(tlsServer, settings.tls());
            }
        } catch (IOException e) {
            stop();
            throw new NodeStartException("Cannot listen on " + settings.listenAddress() + ": " + e.getMessage(), e);
        }
    }

    /** Connection cap first, then the loops in turn. */
    private EventLoop admit(SocketChannel channel) {
        if (open.incrementAndGet() > settings.limits().maxConnections()) {
            open.decrementAndGet();
            statistics.error();
            String who;
            try {
                who = String.valueOf(channel.getRemoteAddress());
            } catch (IOException e) {
                who = "?";
            }
            log.warn("Refused connection from {}: already {} connections (the maximum)", who,
                    settings.limits().maxConnections());
            EventLoop.closeQuietly(channel);
            return null;
        }
        return loops.get(Math.floorMod(nextLoop.getAndIncrement(), loops.size()));
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public int tlsPort() {
        return tlsPort;
    }

    /** Open connections, for tests and statistics. */
    public int openConnections() {
        return open.get();
    }

    @Override
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        EventLoop.closeQuietly(server);
        server = null;
        if (tlsServer != null) {
            EventLoop.closeQuietly(tlsServer);
            tlsServer = null;
        }
        loops.forEach(EventLoop::disconnectAll);
        // peers with answers still being decided get them before their DPR (PeerConnection.disconnect)
        long deadline = System.currentTimeMillis() + settings.limits().drainMillis() + TransportLimits.DPA_WAIT_MILLIS;
        while (open.get() > 0 && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        loops.forEach(EventLoop::shutdown);
        workerArray = new java.util.concurrent.ExecutorService[0];
        for (java.util.concurrent.ExecutorService w : workers) {
            w.shutdown();
        }
        // 2 s for all the workers together, not each: with 256 of them waiting on a store that
        // is gone (3 s each at most), one wait per worker could hold the stop for minutes
        long workersDeadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(2);
        for (java.util.concurrent.ExecutorService w : workers) {
            try {
                w.awaitTermination(Math.max(0, workersDeadline - System.nanoTime()),
                        java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            w.shutdownNow();
        }
        workers.clear();
        for (EventLoop l : loops) {
            try {
                l.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        loops.clear();
        pipeline.logRefusalsNotYetLogged();
    }

    @Override
    public GyPipeline pipeline() {
        return pipeline;
    }

    @Override
    public NodeStatistics statistics() {
        return statistics;
    }

    @Override
    public BaseMessages base() {
        return base;
    }

    @Override
    public TransportLimits limits() {
        return settings.limits();
    }

    @Override
    public org.gyocs.node.PeerAllowList allowedPeers() {
        return settings.peers();
    }

    @Override
    public ConnectedPeers peers() {
        return peers;
    }

    /** The open connection of each peer, by the Origin-Host of its CER (the last one to open). */
    private final java.util.Map<String, PeerConnection> connectionOf = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public void opened(PeerConnection connection) {
        connectionOf.put(connection.peerHost(), connection);
    }

    @Override
    public void closed(PeerConnection connection) {
        connectionOf.remove(connection.peerHost(), connection);
    }

    @Override
    public java.util.concurrent.CompletableFuture<Long> send(org.gyocs.node.SessionRequest request) {
        java.util.concurrent.CompletableFuture<Long> answer = new java.util.concurrent.CompletableFuture<>();
        PeerConnection c = connectionOf.get(request.peerHost());
        boolean stopping;
        synchronized (this) {
            stopping = server == null; // its event loops may not run what is queued any more
        }
        if (stopping || c == null || c.state() != PeerConnection.State.OPEN) {
            if (c != null) {
                connectionOf.remove(request.peerHost(), c);
            }
            answer.completeExceptionally(new org.gyocs.node.SessionRequest.PeerNotConnected(request.peerHost()));
            return answer;
        }
        c.sendRequestLater(request, settings.originHost(), settings.realm(), answer);
        return answer;
    }

    @Override
    public String originHost() {
        return settings.originHost();
    }

    @Override
    public String originRealm() {
        return settings.realm();
    }

    @Override
    public void charge(String sessionId, Runnable decision) {
        java.util.concurrent.ExecutorService[] w = workerArray;
        if (w.length == 0) {
            return; // stopping: the connection is closing anyway
        }
        try {
            w[Math.floorMod(sessionId == null ? 0 : sessionId.hashCode(), w.length)].execute(decision);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // stopping: the connection is closing anyway
        }
    }

    @Override
    public void connectionClosed() {
        open.decrementAndGet();
    }
}
