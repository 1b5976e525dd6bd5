package org.gyocs.gy.jdiameter;

import java.net.InetAddress;

import org.gyocs.core.ResultCode;
import org.jdiameter.api.Avp;
import org.jdiameter.api.Message;
import org.jdiameter.client.api.IMessage;
import org.jdiameter.client.api.parser.IMessageParser;
import org.jdiameter.server.api.IMetaData;

/** The CEA that refuses a peer (RFC 6733 section 5.3: 3010 DIAMETER_UNKNOWN_PEER, E-bit), as jDiameter builds its own. */
final class CerRefusal {

    private CerRefusal() {
    }

    static IMessage cea(IMessageParser parser, IMetaData meta, IMessage cer, String why) {
        IMessage m = parser.createEmptyMessage(Message.CAPABILITIES_EXCHANGE_ANSWER, 0);
        m.setRequest(false);
        m.setError(true);
        m.setHopByHopIdentifier(cer.getHopByHopIdentifier());
        m.setEndToEndIdentifier(cer.getEndToEndIdentifier());
        m.getAvps().addAvp(Avp.RESULT_CODE, ResultCode.UNKNOWN_PEER, true, false, true);
        m.getAvps().addAvp(Avp.ORIGIN_HOST, meta.getLocalPeer().getUri().getFQDN(), true, false, true);
        m.getAvps().addAvp(Avp.ORIGIN_REALM, meta.getLocalPeer().getRealmName(), true, false, true);
        for (InetAddress ia : meta.getLocalPeer().getIPAddresses()) {
            m.getAvps().addAvp(Avp.HOST_IP_ADDRESS, ia, true, false);
        }
        m.getAvps().addAvp(Avp.VENDOR_ID, meta.getLocalPeer().getVendorId(), true, false, true);
        m.getAvps().addAvp(Avp.PRODUCT_NAME, meta.getLocalPeer().getProductName(), false);
        m.getAvps().addAvp(Avp.ERROR_MESSAGE, why, false);
        return m;
    }

    static String originHost(IMessage m) {
        try {
            Avp a = m.getAvps().getAvp(Avp.ORIGIN_HOST);
            return a == null ? null : a.getDiameterIdentity();
        } catch (Exception e) {
            return null;
        }
    }
}
