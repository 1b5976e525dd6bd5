package org.gyocs.testing;

import static org.gyocs.codec.AvpCodes.*;

import java.util.ArrayList;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterMessage;

/** CCRs built with our codec, the same bytes for whichever node receives them. */
public final class GyRequests {

    private GyRequests() {
    }

    public static List<Avp> header(String sessionId, int type, int number) {
        return header(sessionId, type, number, "491700000001");
    }

    /** The same for another subscriber (its MSISDN, END_USER_E164). */
    public static List<Avp> header(String sessionId, int type, int number, String subscriber) {
        List<Avp> avps = new ArrayList<>();
        avps.add(Avp.utf8(SESSION_ID, sessionId));
        avps.add(Avp.utf8(ORIGIN_HOST, "raw.test.local"));
        avps.add(Avp.utf8(ORIGIN_REALM, "test.local"));
        avps.add(Avp.utf8(DESTINATION_REALM, "test.local"));
        avps.add(Avp.unsigned32(AUTH_APPLICATION_ID, 4));
        avps.add(Avp.utf8(SERVICE_CONTEXT_ID, "32251@3gpp.org"));
        avps.add(Avp.unsigned32(CC_REQUEST_TYPE, type));
        avps.add(Avp.unsigned32(CC_REQUEST_NUMBER, number));
        avps.add(Avp.grouped(SUBSCRIPTION_ID, Avp.unsigned32(SUBSCRIPTION_ID_TYPE, 0),
                Avp.utf8(SUBSCRIPTION_ID_DATA, subscriber)));
        return avps;
    }

    public static Avp mscc(Long ratingGroup, Long serviceId, Avp rsu, Avp usu) {
        List<Avp> g = new ArrayList<>();
        if (rsu != null) {
            g.add(rsu);
        }
        if (usu != null) {
            g.add(usu);
        }
        if (serviceId != null) {
            g.add(Avp.unsigned32(SERVICE_IDENTIFIER, serviceId));
        }
        if (ratingGroup != null) {
            g.add(Avp.unsigned32(RATING_GROUP, ratingGroup));
        }
        return Avp.grouped(MULTIPLE_SERVICES_CREDIT_CONTROL, g);
    }

    public static Avp rsuOctets(long n) {
        return Avp.grouped(REQUESTED_SERVICE_UNIT, Avp.unsigned64(CC_TOTAL_OCTETS, n));
    }

    public static Avp usuOctets(long n) {
        return Avp.grouped(USED_SERVICE_UNIT, Avp.unsigned64(CC_TOTAL_OCTETS, n));
    }

    public static DiameterMessage ccr(int hopByHop, List<Avp> avps) {
        return new DiameterMessage(DiameterMessage.FLAG_REQUEST | DiameterMessage.FLAG_PROXIABLE, CommandCodes.CREDIT_CONTROL, 4,
                hopByHop, hopByHop, avps);
    }

    /** A complete CCR with one MSCC (RG 100, SI 1): RSU except on T, USU on U and T. */
    public static DiameterMessage simple(int hopByHop, String sessionId, int type, int number) {
        List<Avp> avps = header(sessionId, type, number);
        avps.add(mscc(100L, 1L, type == 3 ? null : rsuOctets(1_048_576), type == 2 || type == 3 ? usuOctets(524_288) : null));
        return ccr(hopByHop, avps);
    }

    public static long resultCode(DiameterMessage answer) throws Exception {
        return answer.avp(RESULT_CODE).unsigned32();
    }
}
