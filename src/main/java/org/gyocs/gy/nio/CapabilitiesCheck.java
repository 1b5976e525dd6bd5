package org.gyocs.gy.nio;

import java.net.InetAddress;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.CreditControlCore;
import org.gyocs.core.ResultCode;
import org.gyocs.node.PeerAllowList;
import org.gyocs.node.TlsSettings;

/**
 * How a CER is answered (RFC 6733 section 5.3): 2001, or 3010 DIAMETER_UNKNOWN_PEER for a peer
 * not in allowed-peers, whose TLS certificate is not its own, or that changes its Origin-Host on
 * an open connection; 5010 DIAMETER_NO_COMMON_APPLICATION without credit control.
 */
final class CapabilitiesCheck {
    static final long NO_COMMON_APPLICATION = 5010;
    private static final long RELAY_APPLICATION = 0xFFFFFFFFL;

    /** The Result-Code of the CEA and, for a refusal, why (for the log). */
    record Verdict(long resultCode, String why) {
        static final Verdict ACCEPTED = new Verdict(ResultCode.SUCCESS, null);
    }

    private CapabilitiesCheck() {
    }

    /**
     * @param host      the CER's Origin-Host (null when it has none)
     * @param boundHost the Origin-Host of the connection's first CER when it is open, else null
     */
    static Verdict judge(DiameterMessage cer, String host, String boundHost, PeerAllowList allowed, InetAddress from,
                         Wire wire) {
        if (boundHost != null && !boundHost.equals(host)) {
            // the identity its sessions are bound to is the one of its first CER
            return new Verdict(ResultCode.UNKNOWN_PEER, "a second CER with another Origin-Host (" + host + ")");
        }
        if (!allowed.permits(host, from)) {
            return new Verdict(ResultCode.UNKNOWN_PEER, "not in allowed-peers");
        }
        if (wire instanceof TlsWire && !TlsSettings.certifies(wire.peerCertificate(), host)) {
            // RFC 6733 section 13: the certificate must be the peer's own
            return new Verdict(ResultCode.UNKNOWN_PEER, "its certificate names " + (wire.peerCertificate() == null
                    ? "nobody" : TlsSettings.names(wire.peerCertificate())) + ", not its Origin-Host");
        }
        if (!offersCreditControl(cer)) {
            return new Verdict(NO_COMMON_APPLICATION, "it offers no credit-control application");
        }
        return Verdict.ACCEPTED;
    }

    private static boolean offersCreditControl(DiameterMessage cer) {
        try {
            for (Avp a : cer.all(AvpCodes.AUTH_APPLICATION_ID)) {
                long id = a.unsigned32();
                if (id == CreditControlCore.CREDIT_CONTROL_APPLICATION_ID || id == RELAY_APPLICATION) {
                    return true;
                }
            }
            for (Avp vsa : cer.all(AvpCodes.VENDOR_SPECIFIC_APPLICATION_ID)) {
                Avp auth = DiameterMessage.find(vsa.group(), AvpCodes.AUTH_APPLICATION_ID);
                if (auth != null && auth.unsigned32() == CreditControlCore.CREDIT_CONTROL_APPLICATION_ID) {
                    return true;
                }
            }
        } catch (DiameterDecodeException e) {
            return false;
        }
        return false;
    }
}
