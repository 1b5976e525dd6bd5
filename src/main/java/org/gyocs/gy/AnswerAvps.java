package org.gyocs.gy;

import java.util.function.Consumer;

/** Where {@link CcaLayout} puts the AVPs of an answer, in the order it adds them. */
public interface AnswerAvps {

    /**
     * Appends an AVP; Vendor-ID 0 is a base or RFC 4006 AVP (no V-bit), any other sets the V-bit.
     * Answers never set the P-bit.
     */
    void add(int code, long vendorId, boolean mandatory, byte[] data);

    /** Appends a mandatory Grouped AVP (Vendor-ID 0) whose content {@code content} adds. */
    void addGroup(int code, Consumer<AnswerAvps> content);
}
