package org.gyocs.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** CC-Request-Type values (RFC 4006 section 8.3) to types and back; anything else is no type. */
class RequestTypeTest {
    @Test
    void eachCodeGivesItsTypeAndOthersNone() {
        for (RequestType t : RequestType.values()) {
            assertEquals(t, RequestType.fromCode(t.code()));
        }
        assertEquals(RequestType.INITIAL, RequestType.fromCode(1));
        assertEquals(RequestType.EVENT, RequestType.fromCode(4));
        for (long outside : new long[] {0, 5, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32 | 1}) {
            assertNull(RequestType.fromCode(outside), String.valueOf(outside));
        }
    }
}
