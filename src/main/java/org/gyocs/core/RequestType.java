package org.gyocs.core;

/** CC-Request-Type (RFC 4006 section 8.3). */
public enum RequestType {
    INITIAL(1, "CCR-I"),
    UPDATE(2, "CCR-U"),
    TERMINATION(3, "CCR-T"),
    EVENT(4, "CCR-E");

    private final int code;
    private final String shortName;

    RequestType(int code, String shortName) {
        this.code = code;
        this.shortName = shortName;
    }

    /** The enumerated value carried in the CC-Request-Type AVP. */
    public int code() {
        return code;
    }

    /** The name telecom logs use: CCR-I, CCR-U, CCR-T, CCR-E. */
    public String shortName() {
        return shortName;
    }

    /** @return the type for an AVP value, or null when the value is outside RFC 4006's range */
    public static RequestType fromCode(long code) {
        // codes 1-4 in declaration order; values() would copy the array on every request
        return code >= 1 && code <= BY_CODE.length ? BY_CODE[(int) code - 1] : null;
    }

    private static final RequestType[] BY_CODE = values();
}
