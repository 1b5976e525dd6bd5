package org.gyocs.core;

/**
 * Final-Unit-Indication (RFC 4006 section 8.34): sent with the last grant of a balance, it tells
 * the PCEF what to do when those units are used up.
 *
 * @param action          Final-Unit-Action: TERMINATE, REDIRECT or RESTRICT_ACCESS
 * @param redirectAddress Redirect-Server-Address (a URL, Redirect-Address-Type 2) for REDIRECT, else null
 * @param filterId        Filter-Id for RESTRICT_ACCESS, else null
 */
public record FinalUnitIndication(FinalUnitAction action, String redirectAddress, String filterId) {

    /** Final-Unit-Action values (RFC 4006 section 8.35). */
    public enum FinalUnitAction {
        TERMINATE(0), REDIRECT(1), RESTRICT_ACCESS(2);

        private final int code;

        FinalUnitAction(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }
    }

    /** Redirect-Address-Type URL (RFC 4006 section 8.38). */
    public static final int REDIRECT_ADDRESS_URL = 2;
}
