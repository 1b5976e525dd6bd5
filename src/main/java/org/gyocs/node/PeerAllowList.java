package org.gyocs.node;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which peers may connect: entries {@code ORIGIN-HOST[@ADDRESS/PREFIX]}, comma-separated, an
 * Origin-Host being exact ({@code pgw1.example.com}), a domain ({@code *.example.com}) or any
 * ({@code *}), and the optional CIDR the connection must come from ({@code @10.1.0.0/16},
 * {@code @2001:db8::/32}; a bare address is /32 or /128). Empty: any peer (a lab's default; the
 * banner says {@code Peers: any}). A peer that matches no entry gets CEA 3010
 * DIAMETER_UNKNOWN_PEER and is closed. An audit found any host that reached the port trusted,
 * and a listed Origin-Host accepted from another address.
 */
public final class PeerAllowList {
    public static final PeerAllowList ANY = new PeerAllowList(List.of(), "any");

    private record Entry(String host, byte[] network, int prefix) {
        boolean hostMatches(String originHost) {
            return org.gyocs.core.HostPattern.matches(host, originHost);
        }

        boolean addressMatches(InetAddress from) {
            if (network == null) {
                return true;
            }
            byte[] a = from.getAddress();
            if (a.length != network.length) {
                return false;
            }
            int bits = prefix;
            for (int i = 0; i < a.length && bits > 0; i++, bits -= 8) {
                int mask = bits >= 8 ? 0xFF : (0xFF << (8 - bits)) & 0xFF;
                if ((a[i] & mask) != (network[i] & mask)) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Entry> entries;
    private final String description;

    private PeerAllowList(List<Entry> entries, String description) {
        this.entries = entries;
        this.description = description;
    }

    /**
     * @throws IllegalArgumentException naming the entry that is not {@code HOST[@ADDRESS/PREFIX]}
     */
    public static PeerAllowList parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return ANY;
        }
        List<Entry> out = new ArrayList<>();
        for (String raw : spec.split(",")) {
            String e = raw.trim();
            if (e.isEmpty()) {
                continue;
            }
            int at = e.indexOf('@');
            String host = (at < 0 ? e : e.substring(0, at)).trim().toLowerCase(Locale.ROOT);
            if (host.isEmpty() || (host.contains("*") && !host.equals("*") && !(host.startsWith("*.") && host.length() > 2
                    && !host.substring(2).contains("*")))) {
                throw new IllegalArgumentException("allowed-peers entry '" + e
                        + "': the Origin-Host must be a name, *.domain or *");
            }
            byte[] network = null;
            int prefix = 0;
            if (at >= 0) {
                String cidr = e.substring(at + 1).trim();
                int slash = cidr.indexOf('/');
                String address = slash < 0 ? cidr : cidr.substring(0, slash);
                if (!address.matches("[0-9A-Fa-f:.]+")) { // an address, never a name to resolve
                    throw new IllegalArgumentException("allowed-peers entry '" + e + "': '" + address + "' is no IP address");
                }
                try {
                    network = InetAddress.getByName(address).getAddress();
                } catch (UnknownHostException ex) {
                    throw new IllegalArgumentException("allowed-peers entry '" + e + "': '" + address + "' is no IP address");
                }
                int max = network.length * 8;
                try {
                    prefix = slash < 0 ? max : Integer.parseInt(cidr.substring(slash + 1));
                } catch (NumberFormatException ex) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > max) {
                    throw new IllegalArgumentException("allowed-peers entry '" + e + "': the prefix must be 0 to " + max);
                }
            }
            out.add(new Entry(host, network, prefix));
        }
        return out.isEmpty() ? ANY : new PeerAllowList(List.copyOf(out), spec.trim());
    }

    /** Whether a peer with this Origin-Host (from its CER), connecting from this address, may connect. */
    public boolean permits(String originHost, InetAddress from) {
        if (entries.isEmpty()) {
            return true;
        }
        if (originHost == null) {
            return false;
        }
        InetAddress address = unmapped(from);
        for (Entry e : entries) {
            if (e.hostMatches(originHost) && e.addressMatches(address)) {
                return true;
            }
        }
        return false;
    }

    /** Whether some allowed peer may connect from this address (checked at accept, before any CER). */
    public boolean mayConnectFrom(InetAddress from) {
        if (entries.isEmpty()) {
            return true;
        }
        InetAddress address = unmapped(from);
        for (Entry e : entries) {
            if (e.addressMatches(address)) {
                return true;
            }
        }
        return false;
    }

    public boolean isOpen() {
        return entries.isEmpty();
    }

    /** For the banner: "any" or the entries. */
    @Override
    public String toString() {
        return description;
    }

    /** An IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4. */
    private static InetAddress unmapped(InetAddress a) {
        byte[] b = a.getAddress();
        if (b.length == 16) {
            boolean mapped = b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
            for (int i = 0; i < 10 && mapped; i++) {
                mapped = b[i] == 0;
            }
            if (mapped) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException e) {
                    return a;
                }
            }
        }
        return a;
    }
}
