package org.gyocs.gy;

import static org.gyocs.testing.GyRequests.resultCode;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.gyocs.app.GyDiameterApplication;
import org.gyocs.app.OcsConfiguration;
import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.store.Bucket;
import org.gyocs.testing.GyRequests;
import org.gyocs.testing.Stores;
import org.gyocs.testing.TestPeer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * No money from malformed usage (issue 13, item 1): amounts that overflow, or that no Unsigned64
 * amount can be, are answered 5004 with Failed-AVP and change no balance, in both modes, on the
 * node's own embedded store (balances in memory, the journal).
 */
class MalformedUsageTest {
    static final String SUB = "491700000001"; // GyRequests' subscriber
    static final long START = 1_000_000;
    @TempDir
    Path tmp;

    GyDiameterApplication start(boolean mock) throws Exception {
        Path csv = tmp.resolve("subscribers.csv");
        Files.writeString(csv, "subscriber,unit,amount,rating_group,expires\n" + SUB + ",octets," + START + ",,\n");
        GyDiameterApplication app = GyDiameterApplication.builder().ip("127.0.0.1").port(0).host("ocs.test.local")
                .realm("test.local").config(Path.of("config/jdiameter-config.xml")).mock(mock)
                .charging(OcsConfiguration.of(java.util.Map.of("default-octets", "1000", "max-octets", "1000"))
                        .chargingPolicy())
                .store(Stores.embeddedFile(tmp.resolve("data"))).subscribers(csv).build();
        app.start(false);
        return app;
    }

    static long balance(GyDiameterApplication app) {
        return app.subscriberAdmin().buckets(SUB).stream().mapToLong(Bucket::amount).sum();
    }

    static Avp u64(int code, long value) {
        return Avp.unsigned64(code, value);
    }

    static DiameterMessage update(int hop, String session, int number, Avp... usus) {
        List<Avp> avps = GyRequests.header(session, 2, number);
        java.util.List<Avp> mscc = new java.util.ArrayList<>(List.of(GyRequests.rsuOctets(1000)));
        mscc.addAll(List.of(usus));
        mscc.add(Avp.unsigned32(AvpCodes.RATING_GROUP, 100));
        avps.add(Avp.grouped(AvpCodes.MULTIPLE_SERVICES_CREDIT_CONTROL, mscc));
        return GyRequests.ccr(hop, avps);
    }

    static Avp failedAvp(DiameterMessage a) throws Exception {
        return a.avp(AvpCodes.FAILED_AVP).group().get(0);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void overflowingUsageIs5004AndCreditsNothing(boolean mock) throws Exception {
        GyDiameterApplication app = start(mock);
        try (TestPeer p = new TestPeer(app.getPort())) {
            assertEquals(2001, resultCode(p.handshake()));
            p.awaitOpen();
            assertEquals(2001, resultCode(p.request(GyRequests.simple(1, "ovf;1", 1, 0))));

            // the audit's report: input 2^63-1 plus output 2^63-1-10^9 wraps to a negative usage
            DiameterMessage wrap = p.request(update(2, "ovf;1", 1, Avp.grouped(AvpCodes.USED_SERVICE_UNIT,
                    u64(AvpCodes.CC_INPUT_OCTETS, Long.MAX_VALUE), u64(AvpCodes.CC_OUTPUT_OCTETS, Long.MAX_VALUE - 1_000_000_000L))));
            assertEquals(5004, resultCode(wrap));
            assertEquals(AvpCodes.CC_OUTPUT_OCTETS, failedAvp(wrap).code());
            assertEquals(2, wrap.avp(AvpCodes.CC_REQUEST_TYPE).unsigned32());

            // two Used-Service-Units whose sum wraps
            DiameterMessage two = p.request(update(3, "ovf;1", 2,
                    Avp.grouped(AvpCodes.USED_SERVICE_UNIT, u64(AvpCodes.CC_TOTAL_OCTETS, Long.MAX_VALUE)),
                    Avp.grouped(AvpCodes.USED_SERVICE_UNIT, u64(AvpCodes.CC_TOTAL_OCTETS, Long.MAX_VALUE))));
            assertEquals(5004, resultCode(two));
            assertEquals(AvpCodes.USED_SERVICE_UNIT, failedAvp(two).code());

            // an Unsigned64 above 2^63-1 is no amount (it was capped to 2^63-1 and debited as that)
            DiameterMessage huge = p.request(update(4, "ovf;1", 3, Avp.grouped(AvpCodes.USED_SERVICE_UNIT,
                    Avp.of(AvpCodes.CC_TOTAL_OCTETS, ByteBuffer.allocate(8).putLong(-5).array()))));
            assertEquals(5004, resultCode(huge));
            assertEquals(AvpCodes.CC_TOTAL_OCTETS, failedAvp(huge).code());

            // CC-Money with an Exponent of 10^8 (10^(10^8) once took minutes of CPU) or past 2^63-1
            for (int exponent : new int[] {100_000_000, Integer.MAX_VALUE, 19}) {
                DiameterMessage money = p.request(update(10 + (exponent & 0xF), "ovf;1", 3, Avp.grouped(
                        AvpCodes.USED_SERVICE_UNIT, Avp.grouped(AvpCodes.CC_MONEY, Avp.grouped(AvpCodes.UNIT_VALUE,
                                Avp.of(AvpCodes.VALUE_DIGITS, ByteBuffer.allocate(8).putLong(7).array()),
                                Avp.of(AvpCodes.EXPONENT, ByteBuffer.allocate(4).putInt(exponent).array()))))));
                assertEquals(5004, resultCode(money), "Exponent " + exponent);
                assertEquals(AvpCodes.UNIT_VALUE, failedAvp(money).code());
            }

            assertEquals(START, balance(app), "nothing credited or debited by the refused reports");

            // two Used-Service-Units of different units: added up field by field (it closed the
            // mock connection with a NullPointerException)
            DiameterMessage mixed = p.request(update(5, "ovf;1", 4,
                    Avp.grouped(AvpCodes.USED_SERVICE_UNIT, Avp.unsigned32(AvpCodes.CC_TIME, 10)),
                    Avp.grouped(AvpCodes.USED_SERVICE_UNIT, u64(AvpCodes.CC_TOTAL_OCTETS, 300))));
            assertEquals(2001, resultCode(mixed));
            assertEquals(START - 300, balance(app), "the octets debited once");
            assertEquals(2001, resultCode(p.request(GyRequests.simple(6, "ovf;1", 3, 5))));
        } finally {
            app.stop();
        }
    }
}
