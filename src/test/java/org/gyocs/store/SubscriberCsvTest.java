package org.gyocs.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.gyocs.app.OcsConfiguration;
import org.gyocs.core.ChargingPolicy;
import org.gyocs.core.FinalUnitIndication.FinalUnitAction;
import org.gyocs.core.UnitType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubscriberCsvTest {
    @TempDir
    Path tmp;

    @Test
    void theShippedExampleParses() throws Exception {
        List<Bucket> b = SubscriberCsv.read(Path.of("config/subscribers.example.csv")).buckets();
        assertEquals(5, b.size());
        assertEquals(new Bucket(0, "491700000001", UnitType.OCTETS, 104857600, 0, null, null), b.get(0));
        assertEquals(100L, b.get(1).ratingGroup());
        assertEquals(Instant.parse("2028-01-01T00:00:00Z"), b.get(1).expires(), "valid through 2027-12-31");
        assertEquals(UnitType.SECONDS, b.get(2).unit());
        assertNull(b.get(2).expires());
    }

    @Test
    void aBadRowNamesItsLine() throws Exception {
        Path f = tmp.resolve("subs.csv");
        Files.writeString(f, "subscriber,unit,amount,rating_group,expires\n491700000001,octets,10,,\n491700000002,octets,lots,,\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SubscriberCsv.read(f));
        assertEquals(f + ": line 3: amount must be a whole number, not 'lots'", e.getMessage());
        Files.writeString(f, "msisdn,amount\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SubscriberCsv.read(f)).getMessage().contains("line 1"));
        Files.writeString(f, "subscriber,unit,amount,rating_group,expires\n491700000001,bytes,10,,\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SubscriberCsv.read(f)).getMessage()
                .contains("line 2: unit must be octets, seconds, units or money"));
    }

    @Test
    void theShippedConfigurationAndOverrides() throws Exception {
        ChargingPolicy p = OcsConfiguration.load(Path.of("config/ocs.properties"), true, Map.of()).chargingPolicy();
        assertEquals(ChargingPolicy.DEFAULT, p, "the file states the defaults");
        ChargingPolicy r = OcsConfiguration.load(Path.of("config/ocs.properties"), true, Map.of(
                "final-unit-action", "redirect", "redirect-address", "http://topup", "unknown-subscriber", "reject",
                "tcc", "30", "validity-time", "20", "denied-rating-groups", "5, 6")).chargingPolicy();
        assertEquals(FinalUnitAction.REDIRECT, r.finalUnitIndication().action());
        assertTrue(r.rejectUnknown());
        assertEquals(30, r.tccSeconds());
        assertEquals(java.util.Set.of(5L, 6L), r.deniedRatingGroups());
        Path bad = tmp.resolve("bad.properties");
        Files.writeString(bad, "defualt-octets=5\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(bad, true, Map.of()))
                .getMessage().contains("unknown key 'defualt-octets'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(null, false,
                Map.of("final-unit-action", "redirect"))).getMessage().contains("needs redirect-address"));
        // bounds (issue 13, item 15): Tcc never under the Validity-Time; Unsigned32 values fit in 32 bits
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(null, false,
                Map.of("tcc", "30"))).getMessage().contains("tcc must be at least validity-time (3600 s)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(null, false,
                Map.of("validity-time", "4294967296"))).getMessage().contains("validity-time must be a number from 1 to 4294967295"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(null, false,
                Map.of("volume-quota-threshold", "5000000000"))).getMessage().contains("volume-quota-threshold"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OcsConfiguration.load(null, false,
                Map.of("max-sessions", "0"))).getMessage().contains("max-sessions"));
        assertEquals(7, OcsConfiguration.load(null, false, Map.of("max-sessions", "7")).chargingPolicy().maxOpenSessions());
    }

    /** Issue 13, item 15: the store password from a file only its owner reads, never one others may read. */
    @Test
    void storePasswordFromAPrivateFileOnly() throws Exception {
        Path secret = tmp.resolve("store.secret");
        Files.writeString(secret, "s3cret\n");
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        OcsConfiguration open = OcsConfiguration.load(null, false, Map.of("store-password-file", secret.toString()));
        assertTrue(assertThrows(IllegalArgumentException.class, open::storePassword).getMessage().contains("chmod 600"));
        Files.setPosixFilePermissions(secret, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        assertEquals("s3cret", open.storePassword());
        assertEquals("direct", OcsConfiguration.load(null, false, Map.of("store-password-file", secret.toString(),
                "store-password", "direct")).storePassword(), "an explicit password wins");
    }
}
