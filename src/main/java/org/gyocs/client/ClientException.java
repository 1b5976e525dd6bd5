package org.gyocs.client;

/** A client failure with a message for the user (no stack trace needed). */
public class ClientException extends Exception {
    private static final long serialVersionUID = 1L;

    public ClientException(String message) {
        super(message);
    }

    public ClientException(String message, Throwable cause) {
        super(message, cause);
    }
}
