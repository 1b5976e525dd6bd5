package org.gyocs.gy;

import static org.gyocs.codec.AvpCodes.*;

import org.gyocs.core.CreditControlCore;
import org.gyocs.node.SessionRequest;

/**
 * The RAR (RFC 6733 section 8.3.1, with RFC 4006 section 3.3) and the ASR (RFC 6733 section 8.5.1)
 * the node sends, AVP for AVP, for both transports: Session-Id, Origin-Host, Origin-Realm,
 * Destination-Realm, Destination-Host, Auth-Application-Id 4 and, in a RAR,
 * Re-Auth-Request-Type AUTHORIZE_ONLY.
 */
public final class SessionRequestLayout {
    /** Re-Auth-Request-Type AUTHORIZE_ONLY (RFC 6733 section 8.12): re-authorize, the session goes on. */
    static final long AUTHORIZE_ONLY = 0;

    private SessionRequestLayout() {
    }

    public static void write(AnswerAvps to, SessionRequest r, String originHost, String originRealm, String peerRealm) {
        utf8(to, SESSION_ID, r.sessionId());
        utf8(to, ORIGIN_HOST, originHost);
        utf8(to, ORIGIN_REALM, originRealm);
        utf8(to, DESTINATION_REALM, peerRealm);
        utf8(to, DESTINATION_HOST, r.peerHost());
        u32(to, AUTH_APPLICATION_ID, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID);
        if (r.kind() == SessionRequest.Kind.RE_AUTH) {
            u32(to, RE_AUTH_REQUEST_TYPE, AUTHORIZE_ONLY);
        }
    }

    private static void utf8(AnswerAvps to, int code, String value) {
        CcaLayout.utf8(to, code, value, true);
    }

    private static void u32(AnswerAvps to, int code, long value) {
        CcaLayout.u32(to, code, value);
    }
}
