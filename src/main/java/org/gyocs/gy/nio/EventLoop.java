package org.gyocs.gy.nio;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.gy.SyncedAnswers;
import org.gyocs.node.TrafficLog;

/**
 * One selector thread serving many connections: reads, answers and writes without blocking.
 * Loop 0 also accepts and hands each new connection to a loop in turn. Everything a connection
 * does happens on its loop's thread; other threads talk to a loop through its task queue.
 */
final class EventLoop implements Runnable {
    private static final Logger log = LogManager.getLogger(EventLoop.class);
    private static final long TICK_NANOS = 100_000_000L;

    private final Selector selector;
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final MockContext ctx;
    private final Acceptor acceptor;
    private final List<PeerConnection> connections = new ArrayList<>();
    private final List<PeerConnection> toFlush = new ArrayList<>();
    private volatile boolean running = true;
    private final Thread thread;
    /** Answers waiting for the store's sync, or null when its changes are durable as they return. */
    private final SyncedAnswers syncedAnswers;

    /** Decides whether a new connection is admitted and which loop serves it. */
    interface Acceptor {
        EventLoop admit(SocketChannel channel);
    }

    EventLoop(String name, MockContext ctx, Acceptor acceptor) throws IOException {
        this.selector = Selector.open();
        this.ctx = ctx;
        this.acceptor = acceptor;
        this.thread = new Thread(this, name);
        this.thread.setDaemon(true);
        org.gyocs.core.SyncPoints points = ctx.pipeline().syncPoints();
        this.syncedAnswers = points == null ? null : new SyncedAnswers(points, this::execute);
    }

    /** Where this loop's answers wait for the store's sync, or null when they need not. */
    SyncedAnswers syncedAnswers() {
        return syncedAnswers;
    }

    void start() {
        thread.start();
    }

    /** Accepts on {@code server}; its connections speak TLS when {@code tls} is not null. */
    void listen(ServerSocketChannel server, org.gyocs.node.TlsSettings tls) {
        execute(() -> {
            try {
                server.register(selector, SelectionKey.OP_ACCEPT, tls);
            } catch (IOException e) {
                log.error("Cannot accept on {}: {}", server, e.toString());
            }
        });
    }

    /** Called on this loop's thread: the connection has output to write at the end of this turn. */
    void flushLater(PeerConnection c) {
        toFlush.add(c);
    }

    private void flushAll() {
        for (int i = 0; i < toFlush.size(); i++) {
            toFlush.get(i).flush();
        }
        toFlush.clear();
    }

    /** The thread has ended: its connections are closed, and tasks run where they are given. */
    private volatile boolean ended;

    /**
     * Runs a task on this loop's thread; once the loop has ended, on the caller's (its connections
     * are closed by then: a late answer a test behaviour held back finds its connection gone, and
     * is taken back from the counts instead of waiting in a queue nobody reads).
     */
    void execute(Runnable task) {
        tasks.add(task);
        selector.wakeup();
        if (ended) {
            runTasks();
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = tasks.poll()) != null) {
            runGuarded(task);
        }
    }

    /** Adopts a connection accepted by loop 0. */
    void adopt(SocketChannel channel, org.gyocs.node.TlsSettings tls) {
        execute(() -> {
            try {
                channel.configureBlocking(false);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
                PeerConnection c = new PeerConnection(channel, key, ctx, this, tls);
                key.attach(c);
                connections.add(c);
                if (TrafficLog.enabled()) {
                    TrafficLog.info("New connection from {}", c.remote());
                }
            } catch (IOException e) {
                log.warn("Cannot set up an accepted connection: {}", e.toString());
                closeQuietly(channel);
                ctx.connectionClosed();
            }
        });
    }

    /** Sends DPR on every open connection (shutdown, first step). */
    void disconnectAll() {
        execute(() -> new ArrayList<>(connections).forEach(PeerConnection::disconnect));
    }

    /** Closes everything and ends the thread (shutdown, last step). */
    void shutdown() {
        execute(() -> {
            flushAll();
            new ArrayList<>(connections).forEach(c -> c.close("node stopped"));
            running = false;
        });
    }

    void join(long millis) throws InterruptedException {
        thread.join(millis);
    }

    @Override
    public void run() {
        long lastTick = System.nanoTime();
        try {
            while (running) {
                selector.select(100);
                runTasks();
                for (SelectionKey key : selector.selectedKeys()) {
                    handle(key);
                }
                selector.selectedKeys().clear();
                flushAll();
                long now = System.nanoTime();
                if (now - lastTick >= TICK_NANOS) {
                    lastTick = now;
                    if (syncedAnswers != null) {
                        syncedAnswers.expire(now);
                    }
                    connections.removeIf(c -> c.state() == PeerConnection.State.CLOSED);
                    for (PeerConnection c : new ArrayList<>(connections)) {
                        c.tick(now);
                    }
                    flushAll();
                }
            }
        } catch (IOException | RuntimeException e) {
            log.error("Event loop {} failed: {}", thread.getName(), e.toString(), e);
        } finally {
            // each connection closed as a connection (its unsent answers uncounted, its peer
            // disconnected), so that answers decided later are not queued where nothing writes
            for (PeerConnection c : new ArrayList<>(connections)) {
                try {
                    c.close("event loop ended");
                } catch (RuntimeException e) {
                    log.warn("Cannot close {}: {}", c, e.toString());
                }
            }
            for (SelectionKey key : selector.keys()) {
                closeQuietly(key.channel());
            }
            closeQuietly(selector);
            if (syncedAnswers != null) {
                syncedAnswers.close();
            }
            ended = true;
            runTasks();
        }
    }

    private void handle(SelectionKey key) {
        try {
            if (key.isAcceptable()) {
                accept((ServerSocketChannel) key.channel(), (org.gyocs.node.TlsSettings) key.attachment());
                return;
            }
            PeerConnection c = (PeerConnection) key.attachment();
            if (key.isReadable()) {
                c.onReadable();
            }
            if (key.isValid() && key.isWritable()) {
                c.onWritable();
            }
        } catch (CancelledKeyException e) {
            // closed while its events were pending
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            // a defect must cost one connection, never the loop and its other peers (a stack
            // overflow once ended a loop's thread, and the node stopped accepting)
            ctx.statistics().error();
            log.error("Unexpected error on a connection: {}", e.toString(), e);
            if (key.attachment() instanceof PeerConnection c) {
                c.close("internal error");
            }
        }
    }

    /** A task handed to the loop (an answer decided on a charging worker): its failure costs the task only. */
    private void runGuarded(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | StackOverflowError | LinkageError e) {
            ctx.statistics().error();
            log.error("Unexpected error in event loop {}: {}", thread.getName(), e.toString(), e);
        }
    }

    private void accept(ServerSocketChannel server, org.gyocs.node.TlsSettings tls) {
        SocketChannel channel;
        try {
            while ((channel = server.accept()) != null) {
                EventLoop loop = acceptor.admit(channel);
                if (loop != null) {
                    loop.adopt(channel, tls);
                }
            }
        } catch (IOException e) {
            log.warn("Accept failed: {}", e.toString());
        }
    }

    static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing more to do
        }
    }
}
