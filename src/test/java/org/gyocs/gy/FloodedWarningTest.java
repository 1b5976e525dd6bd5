package org.gyocs.gy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;

/**
 * One line a second for a flood: the warnings counted between two lines are told in the second,
 * with the peers they came from (a second misconfigured PCEF behind the first was never named).
 * An interval of an hour: nothing here depends on the machine's speed.
 */
class FloodedWarningTest {
    private static final long HOUR = 3_600_000_000_000L;

    @Test
    void theFirstIsLoggedTheRestCountedWithTheirPeers() {
        FloodedWarning w = new FloodedWarning("CCRs refused with 3003 (another realm)", HOUR);
        assertEquals(0, w.occurred("pcef-a"), "the first is logged, none before it");
        assertEquals("", w.since(0));
        for (String who : new String[] {"pcef-b", "pcef-a", "pcef-c", "pcef-b", null}) {
            assertEquals(-1, w.occurred(who), "counted, not logged, within the interval");
        }
        List<String> lines = logged(w);
        assertEquals(List.of("5 more CCRs refused with 3003 (another realm) since the last such line, from pcef-a, "
                + "pcef-b, pcef-c"), lines);
        assertEquals(List.of(), logged(w), "nothing twice");
    }

    @Test
    void aLineNamesAFewPeersAtMost() {
        FloodedWarning w = new FloodedWarning("CCRs refused with 3004", HOUR);
        w.occurred("first");
        for (int i = 0; i < 40; i++) {
            w.occurred("pcef-" + (char) ('a' + i % 20));
        }
        String line = logged(w).get(0);
        assertEquals("40 more CCRs refused with 3004 since the last such line, from pcef-a, pcef-b, pcef-c, pcef-d, "
                + "pcef-e and others", line);
    }

    @Test
    void theNextLineSaysHowManyCameSinceTheOneBefore() throws Exception {
        FloodedWarning w = new FloodedWarning("CCRs refused with 3004", 1_000_000L); // 1 ms
        assertEquals(0, w.occurred("a"));
        long counted = 0;
        long logged = -1;
        for (int i = 0; i < 1_000_000 && logged < 0; i++) {
            logged = w.occurred("b");
            counted += logged < 0 ? 1 : 0;
            if (i % 1000 == 0) {
                Thread.sleep(1);
            }
        }
        assertEquals(counted, logged, "the line's number is what was counted since the first");
        // (none counted when the machine stalled for the millisecond before the first "b")
        assertEquals(counted == 0 ? "" : "; " + counted + " more refused since the last such line, from b",
                w.since(logged));
    }

    private static List<String> logged(FloodedWarning w) {
        List<String> lines = new ArrayList<>();
        Logger logger = (Logger) LogManager.getLogger("flooded-warning-test");
        AbstractAppender a = new AbstractAppender("flooded-warning-test", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent event) {
                lines.add(event.getMessage().getFormattedMessage());
            }
        };
        a.start();
        logger.addAppender(a);
        try {
            w.logRest(logger);
        } finally {
            logger.removeAppender(a);
        }
        return lines;
    }
}
