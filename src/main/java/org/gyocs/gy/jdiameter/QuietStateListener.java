package org.gyocs.gy.jdiameter;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.jdiameter.api.app.AppSession;
import org.jdiameter.api.app.StateChangeListener;

/** Replaces the CCA factory's listener, which logs every session state change at INFO. */
final class QuietStateListener implements StateChangeListener<AppSession> {
    private static final Logger log = LogManager.getLogger(QuietStateListener.class);

    /** jDiameter deprecated this form for the one below, but its interface still requires it. */
    @Override
    @SuppressWarnings({"rawtypes", "deprecation"})
    public void stateChanged(Enum oldState, Enum newState) {
        log.trace("state {} -> {}", oldState, newState);
    }

    @Override
    @SuppressWarnings("rawtypes")
    public void stateChanged(AppSession source, Enum oldState, Enum newState) {
        log.trace("session {} state {} -> {}", source.getSessionId(), oldState, newState);
    }
}
