package org.gyocs.gy;

import java.util.List;

import org.gyocs.core.FailedAvp;

/**
 * The AVPs of a received message (or of one Grouped AVP in it), as each transport holds them:
 * the one view {@link CcrReader} reads a CCR through. Lookups match code and Vendor-ID, so a
 * 3GPP AVP never stands in for a base AVP of the same code.
 */
public interface AvpReader {

    /** The data of the first AVP with this code and Vendor-ID (0: base and RFC 4006 AVPs), or null. */
    byte[] data(int code, long vendorId);

    /** The AVPs inside each Grouped AVP with this code (Vendor-ID 0), in wire order; empty when none. */
    List<AvpReader> groups(int code) throws InvalidAvpException;

    /** The Grouped AVP these AVPs came from, as Failed-AVP would report it; null for a message's top level. */
    FailedAvp origin();

    /** The data of the first AVP with this code and Vendor-ID 0, or null. */
    default byte[] data(int code) {
        return data(code, 0);
    }

    /** The AVPs inside the first Grouped AVP with this code (Vendor-ID 0), or null. */
    default AvpReader group(int code) throws InvalidAvpException {
        List<AvpReader> all = groups(code);
        return all.isEmpty() ? null : all.get(0);
    }
}
