package org.gyocs.client;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;

import org.gyocs.codec.Avp;
import org.gyocs.codec.AvpCodes;
import org.gyocs.codec.CommandCodes;
import org.gyocs.codec.DiameterCodec;
import org.gyocs.codec.DiameterDecodeException;
import org.gyocs.codec.DiameterMessage;
import org.gyocs.core.ResultCode;

/**
 * Asks a node which realm it serves: a capabilities exchange of its own (CER, CEA's Origin-Realm),
 * then goodbye. The test client addresses that realm unless told another, so that it works with a
 * node started with --realm (it sent example.com and got only 3003 DIAMETER_REALM_NOT_SERVED).
 */
public final class CapabilitiesProbe {
    private CapabilitiesProbe() {
    }

    /**
     * @return the node's Origin-Realm
     * @throws ClientException saying what went wrong: the node refused our CER (its Result-Code),
     *         closed the connection, or did not answer
     */
    public static String realmOf(String host, int port, String originHost, long timeoutMillis) throws ClientException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), (int) timeoutMillis);
            s.setSoTimeout((int) timeoutMillis);
            String realm = originHost.contains(".") ? originHost.substring(originHost.indexOf('.') + 1) : originHost;
            DiameterMessage cer = new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.CAPABILITIES_EXCHANGE, 0, 1, 1, List.of(
                    Avp.utf8(AvpCodes.ORIGIN_HOST, originHost), Avp.utf8(AvpCodes.ORIGIN_REALM, realm),
                    Avp.address(AvpCodes.HOST_IP_ADDRESS, s.getLocalAddress()), Avp.unsigned32(AvpCodes.VENDOR_ID, 0),
                    Avp.utf8(AvpCodes.PRODUCT_NAME, "gy-ocs-client").optional(),
                    Avp.unsigned32(AvpCodes.AUTH_APPLICATION_ID, 4)));
            s.getOutputStream().write(DiameterCodec.encode(cer));
            DataInputStream in = new DataInputStream(s.getInputStream());
            int first = in.readInt();
            byte[] frame = new byte[first & 0xFFFFFF];
            if (frame.length < 20) {
                throw new ClientException("the node at " + host + ":" + port + " answered no Diameter");
            }
            java.nio.ByteBuffer.wrap(frame).putInt(first);
            in.readFully(frame, 4, frame.length - 4);
            DiameterMessage cea = DiameterCodec.decode(frame);
            long rc = cea.avp(AvpCodes.RESULT_CODE) == null ? 0 : cea.avp(AvpCodes.RESULT_CODE).unsigned32();
            if (rc != ResultCode.SUCCESS) {
                throw new ClientException("the node refused our CER (Origin-Host " + originHost + ") with Result-Code "
                        + rc + (rc == ResultCode.UNKNOWN_PEER ? " DIAMETER_UNKNOWN_PEER: it is not among the node's allowed-peers" : ""));
            }
            Avp origin = cea.avp(AvpCodes.ORIGIN_REALM);
            if (origin == null) {
                throw new ClientException("the node's CEA has no Origin-Realm");
            }
            DiameterMessage dpr = new DiameterMessage(DiameterMessage.FLAG_REQUEST, CommandCodes.DISCONNECT_PEER, 0, 2, 2, List.of(
                    Avp.utf8(AvpCodes.ORIGIN_HOST, originHost), Avp.utf8(AvpCodes.ORIGIN_REALM, realm),
                    Avp.unsigned32(AvpCodes.DISCONNECT_CAUSE, 0)));
            s.getOutputStream().write(DiameterCodec.encode(dpr));
            return origin.utf8();
        } catch (java.net.ConnectException e) {
            throw new ClientException("Connection refused. Is the server running on " + host + ":" + port + "?", e);
        } catch (java.io.EOFException e) {
            throw new ClientException("the node at " + host + ":" + port + " closed the connection after our CER", e);
        } catch (java.net.SocketTimeoutException e) {
            throw new ClientException("no CEA from " + host + ":" + port + " within " + timeoutMillis + " ms", e);
        } catch (IOException | DiameterDecodeException e) {
            throw new ClientException("capabilities exchange with " + host + ":" + port + " failed: " + e.getMessage(), e);
        }
    }
}
