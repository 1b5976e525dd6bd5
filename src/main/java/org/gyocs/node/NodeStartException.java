package org.gyocs.node;

/** A node could not start; the message is meant for the operator, without a stack trace. */
public class NodeStartException extends Exception {
    private static final long serialVersionUID = 1L;

    public NodeStartException(String message) {
        super(message);
    }

    public NodeStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
