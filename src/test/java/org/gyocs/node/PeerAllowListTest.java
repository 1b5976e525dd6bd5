package org.gyocs.node;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;

import org.junit.jupiter.api.Test;

class PeerAllowListTest {

    static InetAddress ip(String s) throws Exception {
        return InetAddress.getByName(s);
    }

    @Test
    void originHostAndSourceAddressMustBothMatchAnEntry() throws Exception {
        PeerAllowList l = PeerAllowList.parse("pgw1.example.com@10.1.2.3, *.pcef.example.com@10.1.0.0/16, lab.test@2001:db8::/32");
        assertTrue(l.permits("pgw1.example.com", ip("10.1.2.3")));
        assertTrue(l.permits("PGW1.Example.COM", ip("10.1.2.3")), "Origin-Host is case-insensitive");
        assertFalse(l.permits("pgw1.example.com", ip("10.1.2.4")), "a listed Origin-Host from another address");
        assertTrue(l.permits("a.pcef.example.com", ip("10.1.200.7")));
        assertFalse(l.permits("pcef.example.com", ip("10.1.200.7")), "*.domain needs a label before the domain");
        assertFalse(l.permits("a.pcef.example.com", ip("10.2.0.1")));
        assertTrue(l.permits("lab.test", ip("2001:db8:1::5")));
        assertFalse(l.permits("lab.test", ip("2001:db9::5")));
        assertFalse(l.permits("evil.example.org", ip("10.1.2.3")));
        assertFalse(l.permits(null, ip("10.1.2.3")), "a CER without Origin-Host");
        assertTrue(l.permits("pgw1.example.com", InetAddress.getByAddress(
                new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, 10, 1, 2, 3})), "IPv4 seen as ::ffff:a.b.c.d");
    }

    @Test
    void emptyIsAnyAndAHostWithoutAddressIsFromAnywhere() throws Exception {
        assertTrue(PeerAllowList.parse("").isOpen());
        assertTrue(PeerAllowList.parse(" ").permits("x", ip("192.0.2.1")));
        assertTrue(PeerAllowList.parse("*@127.0.0.0/8").permits("anyone", ip("127.0.0.2")));
        assertFalse(PeerAllowList.parse("*@127.0.0.0/8").permits("anyone", ip("192.0.2.1")));
        assertTrue(PeerAllowList.parse("pcef.test.local").permits("pcef.test.local", ip("192.0.2.1")));
    }

    @Test
    void badEntriesAreClearErrors() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PeerAllowList.parse("a@host.example.com"))
                .getMessage().contains("is no IP address"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PeerAllowList.parse("a@10.0.0.0/33"))
                .getMessage().contains("prefix must be 0 to 32"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PeerAllowList.parse("a*b.example.com"))
                .getMessage().contains("*.domain"));
    }
}
