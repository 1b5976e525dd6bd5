package org.gyocs.gy.jdiameter;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

import org.gyocs.codec.DiameterMessage;
import org.gyocs.gy.AnswersAfterSyncTest;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The answers one journal sync releases go out in one write per connection (LimitedTransport's
 * batch), not one system call each, and arrive whole.
 */
class BatchedAnswersTest {
    @TempDir
    Path tmp;

    @Test
    void theAnswersOneSyncReleasesGoOutInOneWrite() throws Exception {
        try (AnswersAfterSyncTest.Rig rig = new AnswersAfterSyncTest.Rig(tmp.resolve("data"), false);
                TestPeer p = rig.peer()) {
            rig.syncs.held = true;
            p.write(AnswersAfterSyncTest.events("together;", 3));
            // debited in memory: decided, their answers held back until the sync is reported
            AnswersAfterSyncTest.awaitAmount(rig.store, 100_000 - 3000, "three events decided");
            AnswersAfterSyncTest.assertNothingFor(p, 300, "held back until the sync"); // and past whenDurable
            long before = LimitedTransport.writes();
            rig.syncs.release();
            Set<Integer> answered = new TreeSet<>();
            for (int i = 1; i <= 3; i++) {
                DiameterMessage a = p.read();
                answered.add(a.hopByHop());
                assertEquals(2001, resultCode(a));
            }
            assertEquals(Set.of(1, 2, 3), answered);
            assertEquals(1, LimitedTransport.writes() - before, "one write for the three answers");
        }
    }
}
