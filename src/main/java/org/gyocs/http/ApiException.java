package org.gyocs.http;

/** A request the API refuses: its HTTP status and a message that names the problem. */
final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int status;
    /** For a 405: the methods the resource allows (the Allow header); else null. */
    private final String allowed;

    ApiException(int status, String message) {
        this(status, message, null);
    }

    ApiException(int status, String message, String allowed) {
        super(message);
        this.status = status;
        this.allowed = allowed;
    }

    int status() {
        return status;
    }

    String allowed() {
        return allowed;
    }
}
