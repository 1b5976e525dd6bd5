package org.gyocs.gy.nio;

import static org.gyocs.codec.AvpCodes.*;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;

/** The base-protocol messages the mock node sends (RFC 6733 sections 5.3, 5.4, 5.5, 7). */
final class BaseMessages {
    static final long OUR_VENDOR_ID = 0;
    static final String OUR_PRODUCT_NAME = "gy-ocs";
    static final long OUR_FIRMWARE_REVISION = 1;
    /** Disconnect-Cause REBOOTING: we are going down and will be back. */
    static final long DISCONNECT_REBOOTING = 0;

    private final String originHost;
    private final String originRealm;
    private final long originStateId;

    BaseMessages(String originHost, String originRealm, long originStateId) {
        this.originHost = originHost;
        this.originRealm = originRealm;
        this.originStateId = originStateId;
    }

    /** CEA (RFC 6733 5.3.2): Result-Code first, then our identity, addresses and Gy. */
    DiameterMessage cea(DiameterMessage cer, long resultCode, InetAddress localAddress) {
        List<Avp> avps = new ArrayList<>();
        avps.add(Avp.unsigned32(RESULT_CODE, resultCode));
        avps.add(Avp.utf8(ORIGIN_HOST, originHost));
        avps.add(Avp.utf8(ORIGIN_REALM, originRealm));
        avps.add(Avp.address(HOST_IP_ADDRESS, localAddress));
        avps.add(Avp.unsigned32(VENDOR_ID, OUR_VENDOR_ID));
        avps.add(Avp.utf8(PRODUCT_NAME, OUR_PRODUCT_NAME).optional());
        avps.add(Avp.unsigned32(ORIGIN_STATE_ID, originStateId));
        avps.add(Avp.unsigned32(AUTH_APPLICATION_ID, CreditControlCore.CREDIT_CONTROL_APPLICATION_ID));
        avps.add(Avp.unsigned32(FIRMWARE_REVISION, OUR_FIRMWARE_REVISION).optional());
        return cer.answer(resultCode >= 3000 && resultCode < 4000, avps);
    }

    DiameterMessage dwa(DiameterMessage dwr) {
        return dwr.answer(false, List.of(Avp.unsigned32(RESULT_CODE, 2001), Avp.utf8(ORIGIN_HOST, originHost),
                Avp.utf8(ORIGIN_REALM, originRealm), Avp.unsigned32(ORIGIN_STATE_ID, originStateId)));
    }

    DiameterMessage dpa(DiameterMessage dpr) {
        return dpr.answer(false, List.of(Avp.unsigned32(RESULT_CODE, 2001), Avp.utf8(ORIGIN_HOST, originHost),
                Avp.utf8(ORIGIN_REALM, originRealm)));
    }

    DiameterMessage dwr(int hopByHop, int endToEnd) {
        return new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.DEVICE_WATCHDOG, 0, hopByHop, endToEnd, List.of(
                Avp.utf8(ORIGIN_HOST, originHost), Avp.utf8(ORIGIN_REALM, originRealm),
                Avp.unsigned32(ORIGIN_STATE_ID, originStateId)));
    }

    DiameterMessage dpr(int hopByHop, int endToEnd) {
        return new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.DISCONNECT_PEER, 0, hopByHop, endToEnd, List.of(
                Avp.utf8(ORIGIN_HOST, originHost), Avp.utf8(ORIGIN_REALM, originRealm),
                Avp.unsigned32(DISCONNECT_CAUSE, DISCONNECT_REBOOTING)));
    }

    /**
     * An error answer (RFC 6733 7.2): protocol errors (3xxx) carry the E-bit; Session-Id is
     * copied when the request had one; Failed-AVP names the culprit when there is one.
     */
    DiameterMessage error(DiameterMessage request, long resultCode, String message, Avp failed) {
        List<Avp> avps = new ArrayList<>();
        Avp sessionId = request.avp(SESSION_ID);
        if (sessionId != null) {
            avps.add(sessionId);
        }
        avps.add(Avp.unsigned32(RESULT_CODE, resultCode));
        avps.add(Avp.utf8(ORIGIN_HOST, originHost));
        avps.add(Avp.utf8(ORIGIN_REALM, originRealm));
        if (message != null) {
            avps.add(Avp.utf8(ERROR_MESSAGE, message).optional());
        }
        if (failed != null) {
            avps.add(Avp.grouped(FAILED_AVP, failed));
        }
        return request.answer(resultCode >= 3000 && resultCode < 4000, avps);
    }
}
