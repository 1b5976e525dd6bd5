package org.gyocs.gy.jdiameter;

import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.api.DisconnectCause;
import org.jdiameter.client.api.IContainer;
import org.jdiameter.common.api.concurrent.IConcurrentFactory;
import org.jdiameter.server.impl.StackImpl;

/** Stops a jDiameter stack completely: the node's and the test client's. */
public final class StackShutdown {
    private static final Logger log = LogManager.getLogger(StackShutdown.class);

    private StackShutdown() {
    }

    /**
     * Sends DPR to every connected peer (waiting up to {@code dprMillis} for them to go down),
     * then stops every thread of the stack: stop() and destroy() leave the ApplicationSession
     * pool running, and on a client those threads keep the JVM alive.
     */
    public static void shutdown(StackImpl stack, long dprMillis) {
        try {
            if (stack.isActive()) {
                stack.stop(dprMillis, TimeUnit.MILLISECONDS, DisconnectCause.REBOOTING);
            }
        } catch (Exception e) {
            log.warn("Error stopping the jDiameter stack: {}", e.toString());
        }
        try {
            IConcurrentFactory threads = ((IContainer) stack).getAssemblerFacility()
                    .getComponentInstance(IConcurrentFactory.class);
            if (threads != null) {
                threads.shutdownAllNow();
            }
        } catch (Exception e) {
            log.warn("Error stopping jDiameter threads: {}", e.toString());
        }
        try {
            stack.destroy();
        } catch (Exception e) {
            log.warn("Error destroying the jDiameter stack: {}", e.toString());
        }
    }
}
