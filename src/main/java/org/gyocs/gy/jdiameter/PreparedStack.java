package org.gyocs.gy.jdiameter;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.gyocs.node.ListeningPorts;
import org.gyocs.node.NodeSettings;
import org.gyocs.node.NodeStartException;
import org.jdiameter.server.impl.StackImpl;

/**
 * A jDiameter stack configured and initialised on a thread of its own, begun before the node
 * opens its store. Reading the XML configuration and {@code StackImpl.init} (the dictionary
 * parsed, the picocontainer assembled) take about 1 s of a start; neither needs the store nor
 * the credit-control core, which are only needed once the stack listens. Nothing listens yet:
 * the port is bound when the node starts the stack.
 *
 * <p>Its owner either hands it to a {@link JDiameterGyNode}, which takes the stack and stops it
 * with itself, or closes it (a start that failed before the node started), which waits for the
 * initialisation and stops whatever it made.
 */
public final class PreparedStack implements AutoCloseable {
    private static final Logger log = LogManager.getLogger(PreparedStack.class);

    /**
     * The port the stack is configured for, and the stack. A port chosen here (the settings say
     * 0) stays bound by {@code held} until the node releases it just before the stack binds it:
     * free only when chosen, it was taken in between once (the stack's initialisation lasts about
     * a second), and the start failed with "Address already in use".
     */
    record Ready(int port, StackImpl stack, java.net.ServerSocket held) {
        /** Lets the stack bind the port this preparation chose; idempotent. */
        void releasePort() {
            release(held);
        }
    }

    private final CompletableFuture<Ready> ready = new CompletableFuture<>();
    private boolean taken;

    private PreparedStack() {
    }

    /** Begins the configuration and initialisation of the node's stack on a thread of its own. */
    public static PreparedStack begin(NodeSettings settings) {
        PreparedStack p = new PreparedStack();
        Thread t = new Thread(() -> p.prepare(settings), "ocs-stack-init");
        t.setDaemon(true);
        t.start();
        return p;
    }

    /** The same, on the caller's thread (a node started without a preparation). */
    static PreparedStack now(NodeSettings settings) {
        PreparedStack p = new PreparedStack();
        p.prepare(settings);
        return p;
    }

    private void prepare(NodeSettings settings) {
        StackImpl s = null;
        java.net.ServerSocket held = null;
        try {
            held = settings.port() == 0 ? ListeningPorts.holdFreePort() : null;
            int port = held != null ? held.getLocalPort() : settings.port();
            org.jdiameter.api.Configuration configuration = StackConfiguration.load(settings.withPort(port));
            s = new StackImpl();
            s.init(configuration);
            ready.complete(new Ready(port, s, held));
        } catch (Throwable e) { // an Error too: the node's start waits for this, so it is told first
            ready.completeExceptionally(e);
            if (s != null) {
                StackShutdown.shutdown(s, 0);
            }
            release(held);
        }
    }

    /** The port the stack is configured for, once its initialisation is done (not taking it). */
    int port() throws ExecutionException, InterruptedException {
        return ready.get().port();
    }

    /** Waits for the stack and takes it: from now on its stop is the taker's. */
    synchronized Ready take() throws NodeStartException {
        if (taken) {
            throw new IllegalStateException("the prepared stack was taken already");
        }
        taken = true;
        try {
            return ready.get();
        } catch (ExecutionException e) {
            Throwable why = e.getCause();
            if (why instanceof NodeStartException named) { // the configuration's own words (file, line)
                throw new NodeStartException(named.getMessage(), named);
            }
            throw new NodeStartException("Error starting jDiameter stack: " + why.getMessage(), why);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopWhenReady();
            throw new NodeStartException("Interrupted while the jDiameter stack was initialised", e);
        }
    }

    /** Stops the stack unless a node took it (then its stop does). */
    @Override
    public synchronized void close() {
        if (taken) {
            return;
        }
        taken = true;
        try {
            Ready r = ready.get();
            r.releasePort();
            StackShutdown.shutdown(r.stack(), 0);
        } catch (ExecutionException e) {
            log.debug("The prepared jDiameter stack had failed already: {}", e.getCause().toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopWhenReady();
        }
    }

    private static void release(java.net.ServerSocket held) {
        if (held != null) {
            try {
                held.close();
            } catch (java.io.IOException e) {
                log.debug("Cannot close the socket that held port {}: {}", held.getLocalPort(), e.toString());
            }
        }
    }

    /** Nobody waits for it any more: the stack is stopped once its initialisation ends. */
    private void stopWhenReady() {
        ready.thenAccept(r -> {
            r.releasePort();
            StackShutdown.shutdown(r.stack(), 0);
        });
    }
}
