package org.gyocs.gy.jdiameter;

import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.api.Peer;
import org.jdiameter.api.PeerState;
import org.jdiameter.api.PeerTableListener;

/**
 * Logs peers coming up (CER/CEA done) and going down, with their Origin-Host and the
 * Host-IP-Address they announced in their CER.
 */
final class PeerEventLog implements PeerTableListener {
    private static final Logger log = LogManager.getLogger("org.gyocs.peers");
    private final Set<Peer> watched = ConcurrentHashMap.newKeySet();
    private final Set<Peer> up = ConcurrentHashMap.newKeySet();

    @Override
    public void peerAccepted(Peer peer) {
        // jDiameter keeps one Peer object per Origin-Host across reconnections: watch it once.
        if (!watched.add(peer)) {
            return;
        }
        peer.addPeerStateListener((oldState, newState) -> {
            if (newState == PeerState.OKAY) {
                connected(peer);
            } else if (newState == PeerState.DOWN) {
                disconnected(peer);
            }
        });
        if (peer.getState(PeerState.class) == PeerState.OKAY) {
            connected(peer);
        }
    }

    // jDiameter reports DOWN more than once per disconnection and OKAY again after SUSPECT:
    // log transitions of our own view only.
    private void connected(Peer peer) {
        if (up.add(peer)) {
            log.info("Peer connected: {} {}", peer.getUri().getFQDN(), addresses(peer));
        }
    }

    private void disconnected(Peer peer) {
        if (up.remove(peer)) {
            log.info("Peer disconnected: {} {}", peer.getUri().getFQDN(), addresses(peer));
        }
    }

    @Override
    public void peerRemoved(Peer peer) {
        watched.remove(peer);
    }

    private static String addresses(Peer peer) {
        try {
            return Arrays.toString(Arrays.stream(peer.getIPAddresses()).map(a -> a.getHostAddress()).toArray());
        } catch (RuntimeException e) {
            return "[]";
        }
    }
}
