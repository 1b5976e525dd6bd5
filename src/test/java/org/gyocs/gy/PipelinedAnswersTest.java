package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.testing.GyRequests;

import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A peer with two requests in flight gets the second answer without waiting for its own delayed
 * ACK of the first. With Nagle's algorithm on the node's socket, an answer written while the one
 * before is unacknowledged is held until that ACK comes, 40 ms on Linux: jDiameter mode answered
 * every such pair in 43-50 ms, against 1.3-10.6 ms with TCP_NODELAY (charged events, a journal sync each).
 */
class PipelinedAnswersTest {
    @TempDir
    Path tmp;

    /**
     * Two CCR-Events of a subscriber the store does not have, granted the default: answered as
     * they are read, one write each, with no journal sync to wait for (whose time on a slow disk
     * would blur what is measured).
     */
    static byte[] unprovisionedEvents(String prefix) {
        List<byte[]> encoded = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            List<Avp> event = GyRequests.header(prefix + i, 4, 0, "491799999999");
            event.add(GyRequests.mscc(100L, 1L, GyRequests.rsuOctets(1000), null));
            encoded.add(DiameterCodec.encode(GyRequests.ccr(i, event)));
        }
        return TestPeer.concat(encoded);
    }

    @ParameterizedTest(name = "mock {0}")
    @ValueSource(booleans = {true, false})
    void theSecondOfTwoRequestsInFlightIsNotHeldForThePeersAck(boolean mock) throws Exception {
        try (AnswersAfterSyncTest.Rig rig = new AnswersAfterSyncTest.Rig(tmp.resolve("data"), mock);
                TestPeer p = rig.peer()) {
            int rounds = 25;
            double[] millis = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                long start = System.nanoTime();
                p.write(unprovisionedEvents("pair" + r + ";")); // two CCR-Events, one write
                assertEquals(2001, resultCode(p.read()));
                assertEquals(2001, resultCode(p.read()));
                millis[r] = (System.nanoTime() - start) / 1e6;
            }
            double[] sorted = millis.clone();
            Arrays.sort(sorted);
            // three rounds in four, not each: a noisy machine may stall any one of them. Held for the
            // ACK, a round takes 40 ms or more unless both answers happen to leave in one write
            // (a third to a half of the rounds in jDiameter mode before the fix)
            double q3 = sorted[rounds * 3 / 4];
            assertTrue(q3 < 25, "three rounds in four within " + q3 + " ms: " + Arrays.toString(millis));
        }
    }
}
