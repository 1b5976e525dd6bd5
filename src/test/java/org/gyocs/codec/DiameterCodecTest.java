package org.gyocs.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class DiameterCodecTest {

    @Test
    void everyCapturedPduRoundTripsToTheSameBytes() throws Exception {
        List<CapturedVectors.Pdu> pdus = CapturedVectors.load();
        assertEquals(26, pdus.size());
        for (CapturedVectors.Pdu p : pdus) {
            DiameterMessage m = DiameterCodec.decode(p.bytes());
            assertArrayEquals(p.bytes(), DiameterCodec.encode(m), p.kind());
            assertEquals(p.kind().endsWith("-R"), m.isRequest(), p.kind());
        }
    }

    @Test
    void capturedCcrInitialDecodesAsFreeDiameterSentIt() throws Exception {
        CapturedVectors.Pdu ccrI = CapturedVectors.load().stream()
                .filter(p -> p.kind().equals("CCR-R") && Integer.valueOf(1).equals(p.requestType())).findFirst().orElseThrow();
        DiameterMessage m = DiameterCodec.decode(ccrI.bytes());
        assertEquals(272, m.commandCode());
        assertEquals(4, m.applicationId());
        assertTrue(m.isProxiable());
        assertEquals("32251@3gpp.org", m.avp(AvpCodes.SERVICE_CONTEXT_ID).utf8());
        assertEquals("pcef.test.local", m.avp(AvpCodes.ORIGIN_HOST).utf8());
        assertEquals(0, m.avp(AvpCodes.CC_REQUEST_NUMBER).unsigned32());
        assertEquals(2, m.all(AvpCodes.SUBSCRIPTION_ID).size(), "MSISDN and IMSI");
        List<Avp> mscc = m.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group();
        assertEquals(100, DiameterMessage.find(mscc, AvpCodes.RATING_GROUP).unsigned32());
        assertEquals(1, DiameterMessage.find(mscc, AvpCodes.SERVICE_IDENTIFIER).unsigned32());
        List<Avp> rsu = DiameterMessage.find(mscc, AvpCodes.REQUESTED_SERVICE_UNIT).group();
        assertEquals(1_048_576, DiameterMessage.find(rsu, AvpCodes.CC_TOTAL_OCTETS).unsigned64());
        // 3GPP Service-Information (873, vendor 10415) with PS-Information inside
        Avp si = m.avps().stream().filter(a -> a.code() == 873).findFirst().orElseThrow();
        assertEquals(10415, si.vendorId());
        assertTrue(si.isVendorSpecific());
        Avp ps = si.group().get(0);
        assertEquals(874, ps.code());
        assertTrue(ps.group().stream().anyMatch(a -> a.code() == 30 && a.utf8().equals("internet")), "Called-Station-Id");
    }

    @Test
    void headerChecksRefuseBeforeAllocating() {
        ByteBuffer b = ByteBuffer.allocate(4);
        b.put(0, (byte) 2);
        assertThrows(DiameterDecodeException.class, () -> DiameterCodec.messageLength(b, 0, 65536));
        b.putInt(0, 1 << 24 | 16);
        assertEquals("message length 16 is under the 20-byte header",
                assertThrows(DiameterDecodeException.class, () -> DiameterCodec.messageLength(b, 0, 65536)).getMessage());
        b.putInt(0, 1 << 24 | 0xFFFFFC);
        assertTrue(assertThrows(DiameterDecodeException.class, () -> DiameterCodec.messageLength(b, 0, 65536))
                .getMessage().contains("over the maximum of 65536"));
        b.putInt(0, 1 << 24 | 22);
        assertThrows(DiameterDecodeException.class, () -> DiameterCodec.messageLength(b, 0, 65536));
        b.putInt(0, 1 << 24 | 64);
        assertDoesNotThrow(() -> DiameterCodec.messageLength(b, 0, 65536));
    }

    @Test
    void avpRunningPastItsMessageIsInvalidLengthWithThePartialMessage() throws Exception {
        DiameterMessage ok = new DiameterMessage(0x80, 272, 4, 7, 8,
                List.of(Avp.utf8(AvpCodes.SESSION_ID, "s;1"), Avp.unsigned32(AvpCodes.CC_REQUEST_NUMBER, 1)));
        byte[] bytes = DiameterCodec.encode(ok);
        // the second AVP's length field (offset 20 + 12 + 5) claims 200 bytes
        int second = 20 + ok.avps().get(0).paddedLength();
        bytes[second + 7] = (byte) 200;
        DiameterDecodeException e = assertThrows(DiameterDecodeException.class, () -> DiameterCodec.decode(bytes));
        assertEquals(5014, e.resultCode());
        assertEquals(AvpCodes.CC_REQUEST_NUMBER, e.failedAvp().code());
        assertNotNull(e.partial());
        assertEquals(7, e.partial().hopByHop());
        assertEquals("s;1", e.partial().avp(AvpCodes.SESSION_ID).utf8());
    }

    @Test
    void vendorAvpsPaddingAndGroupsRoundTrip() throws Exception {
        Avp vendor = Avp.vendor(872, 10415, new byte[] {0, 0, 0, 3});
        Avp odd = Avp.utf8(AvpCodes.SESSION_ID, "abcde"); // 5 bytes: 3 of padding
        Avp group = Avp.grouped(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL, Avp.unsigned32(AvpCodes.RATING_GROUP, 9), vendor);
        DiameterMessage m = new DiameterMessage(0xC0, 272, 4, 1, 2, List.of(odd, group));
        DiameterMessage back = DiameterCodec.decode(DiameterCodec.encode(m));
        assertEquals(m, back);
        assertEquals(13, odd.length());
        assertEquals(16, odd.paddedLength());
        List<Avp> inner = back.avp(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL).group();
        assertEquals(10415, inner.get(1).vendorId());
        assertEquals(3, inner.get(1).unsigned32());
        assertNull(back.avp(872), "vendor AVPs are not found as vendor 0");
    }

    @Test
    void randomValidMessagesRoundTrip() throws Exception {
        Random r = new Random(4006);
        for (int i = 0; i < 5_000; i++) {
            DiameterMessage m = randomMessage(r);
            byte[] bytes = DiameterCodec.encode(m);
            assertEquals(0, bytes.length % 4);
            DiameterMessage back = DiameterCodec.decode(bytes);
            assertEquals(m, back);
            assertArrayEquals(bytes, DiameterCodec.encode(back));
        }
    }

    @Test
    void randomCorruptionThrowsOnlyTheCodecsOwnError() throws Exception {
        Random r = new Random(6733);
        List<byte[]> seeds = new ArrayList<>();
        for (CapturedVectors.Pdu p : CapturedVectors.load()) {
            seeds.add(p.bytes());
        }
        for (int i = 0; i < 20_000; i++) {
            byte[] b = seeds.get(r.nextInt(seeds.size())).clone();
            int kind = r.nextInt(4);
            if (kind == 0) {
                for (int k = 0; k < 1 + r.nextInt(8); k++) {
                    b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                }
            } else if (kind == 1) {
                b = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
            } else if (kind == 2) {
                int at = 20 + r.nextInt(Math.max(1, b.length - 24));
                b[at + 1] = (byte) r.nextInt(256); // an AVP length byte
            } else {
                b = randomBytes(r, r.nextInt(200));
            }
            try {
                DiameterMessage m = DiameterCodec.decode(b);
                deepDecode(m.avps(), 0);
            } catch (DiameterDecodeException expected) {
                // the only failure allowed
            } catch (RuntimeException e) {
                fail("corruption " + i + " threw " + e, e);
            }
        }
    }

    /** Tries every AVP as a group and every reader, as a request handler might. */
    private static void deepDecode(List<Avp> avps, int depth) throws DiameterDecodeException {
        for (Avp a : avps) {
            a.utf8();
            try {
                a.unsigned32();
            } catch (DiameterDecodeException ignored) {
                // wrong size for this AVP is the codec's error
            }
            try {
                a.unsigned64();
            } catch (DiameterDecodeException ignored) {
                // idem
            }
            if (depth < 4) {
                try {
                    deepDecode(a.group(), depth + 1);
                } catch (DiameterDecodeException ignored) {
                    // not a group
                }
            }
        }
    }

    static DiameterMessage randomMessage(Random r) {
        List<Avp> avps = new ArrayList<>();
        for (int n = r.nextInt(8); n > 0; n--) {
            avps.add(randomAvp(r, 0));
        }
        return new DiameterMessage(r.nextInt(16) << 4, r.nextInt(1 << 24), r.nextInt() & 0xFFFFFFFFL, r.nextInt(),
                r.nextInt(), avps);
    }

    static Avp randomAvp(Random r, int depth) {
        int code = r.nextInt();
        long vendor = r.nextBoolean() ? 0 : r.nextInt() & 0xFFFFFFFFL;
        int flags = (r.nextInt(8) << 4) & 0x60;
        if (depth < 3 && r.nextInt(4) == 0) {
            List<Avp> children = new ArrayList<>();
            for (int n = r.nextInt(4); n > 0; n--) {
                children.add(randomAvp(r, depth + 1));
            }
            return new Avp(code, flags, vendor, DiameterCodec.encodeAvps(children));
        }
        return new Avp(code, flags, vendor, randomBytes(r, r.nextInt(40)));
    }

    static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static void assertDoesNotThrow(org.junit.jupiter.api.function.Executable e) {
        org.junit.jupiter.api.Assertions.assertDoesNotThrow(e);
    }
}
