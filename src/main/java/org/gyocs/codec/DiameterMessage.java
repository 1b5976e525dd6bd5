package org.gyocs.codec;

import java.util.ArrayList;
import java.util.List;

/**
 * A Diameter message (RFC 6733 section 3): header fields and top-level AVPs in wire order.
 */
public record DiameterMessage(int flags, int commandCode, long applicationId, int hopByHop, int endToEnd,
                              List<Avp> avps) {
    public static final int FLAG_REQUEST = 0x80;
    public static final int FLAG_PROXIABLE = 0x40;
    public static final int FLAG_ERROR = 0x20;
    public static final int FLAG_RETRANSMITTED = 0x10;

    public DiameterMessage {
        avps = List.copyOf(avps);
    }

    public boolean isRequest() {
        return (flags & FLAG_REQUEST) != 0;
    }

    public boolean isProxiable() {
        return (flags & FLAG_PROXIABLE) != 0;
    }

    public boolean isError() {
        return (flags & FLAG_ERROR) != 0;
    }

    /** The first top-level AVP with this code (vendor 0), or null. */
    public Avp avp(int code) {
        return find(avps, code);
    }

    /** Every top-level AVP with this code. */
    public List<Avp> all(int code) {
        List<Avp> out = new ArrayList<>();
        for (Avp a : avps) {
            if (a.code() == code && !a.isVendorSpecific()) {
                out.add(a);
            }
        }
        return out;
    }

    public static Avp find(List<Avp> avps, int code) {
        for (Avp a : avps) {
            if (a.code() == code && !a.isVendorSpecific()) {
                return a;
            }
        }
        return null;
    }

    /**
     * An answer to this request: same command, application and identifiers, the R-bit clear and
     * the P-bit kept (RFC 6733 section 6.2).
     */
    public DiameterMessage answer(boolean error, List<Avp> answerAvps) {
        int f = (flags & FLAG_PROXIABLE) | (error ? FLAG_ERROR : 0);
        return new DiameterMessage(f, commandCode, applicationId, hopByHop, endToEnd, answerAvps);
    }
}
