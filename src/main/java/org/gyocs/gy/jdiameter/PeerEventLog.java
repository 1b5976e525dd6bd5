package org.gyocs.gy.jdiameter;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.gyocs.node.ConnectedPeers;
import org.jdiameter.api.Peer;
import org.jdiameter.api.PeerState;
import org.jdiameter.api.PeerTableListener;

/**
 * Follows jDiameter's peers coming up (CER/CEA done) and going down into the node's
 * {@link ConnectedPeers}, with their Origin-Host and the Host-IP-Address they announced in their CER.
 */
final class PeerEventLog implements PeerTableListener {
    private final Set<Peer> watched = ConcurrentHashMap.newKeySet();
    private final Map<Peer, ConnectedPeers.Peer> up = new ConcurrentHashMap<>();
    private final ConnectedPeers peers;

    PeerEventLog(ConnectedPeers peers) {
        this.peers = peers;
    }

    @Override
    public void peerAccepted(Peer peer) {
        // jDiameter keeps one Peer object per Origin-Host across reconnections: watch it once.
        if (!watched.add(peer)) {
            return;
        }
        peer.addPeerStateListener((oldState, newState) -> {
            if (newState == PeerState.OKAY) {
                connected(peer);
                peers.state(up.get(peer), ConnectedPeers.OPEN);
            } else if (newState == PeerState.SUSPECT) {
                peers.state(up.get(peer), ConnectedPeers.SUSPECT);
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
        up.computeIfAbsent(peer, p -> peers.connected(p.getUri().getFQDN(), realm(p), addresses(p)));
    }

    private void disconnected(Peer peer) {
        peers.disconnected(up.remove(peer), null);
    }

    private static String realm(Peer peer) {
        try {
            return peer.getRealmName();
        } catch (RuntimeException e) {
            return null;
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
