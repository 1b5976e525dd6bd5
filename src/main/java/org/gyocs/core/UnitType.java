package org.gyocs.core;

/** The kinds of service unit RFC 4006 can grant (section 8.17). */
public enum UnitType {
    /** CC-Total-Octets (421); CC-Input/Output-Octets requests are granted as total octets. */
    OCTETS,
    /** CC-Time (420), seconds. */
    SECONDS,
    /** CC-Service-Specific-Units (417). */
    UNITS
}
