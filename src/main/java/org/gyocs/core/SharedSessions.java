package org.gyocs.core;

import java.util.List;
import java.util.Optional;

/**
 * Credit-control sessions kept where every node of the OCS finds them (a store several nodes
 * share), so that any node answers any request of any session (RFC 4006 section 5.7: a PCEF
 * fails over to its secondary OCS with the session's next request). A store only this node
 * opens keeps its sessions in the node: {@link #NONE}.
 *
 * <p>What makes a request's balance changes and its session's state agree: a CCR-I's and a
 * CCR-T's are committed together (#together); a CCR-U's state is saved only when it changed
 * more than its number and answer, and each change is made at most once per change key
 * (Session-Id, CC-Request-Number, service), so a node that takes a request over from a state
 * behind it makes the same calls and gets their first results: nothing is debited twice and the
 * answer is the same.
 */
public interface SharedSessions {

    /** Whether sessions are shared: false for {@link #NONE}, whose other methods do nothing. */
    boolean shared();

    /** The session's state as the last node that answered it saved it, or empty. */
    Optional<Loaded> load(String sessionId);

    /** A session's state, and whether this node saved it (else another node is its node now). */
    record Loaded(SessionState state, boolean savedHere) {
    }

    /** Saves the session's state after an answered request (closed after its CCR-T), owned by this node. */
    void save(SessionState state);

    /**
     * Opens, for this thread, a scope in which a request's balance changes give their results
     * before they are committed, and the session's state saved after them (and a record's end)
     * is committed with the last of them: a CCR-I or CCR-T then waits for one commit, not two in
     * a row. Nothing of the request may be answered before {@link Together#committed} returns.
     */
    default Together together() {
        return Together.NONE;
    }

    /** The scope of {@link #together}. */
    interface Together extends AutoCloseable {
        /**
         * Waits until what the request changed and saved is committed.
         *
         * @throws RuntimeException when it was not: the results the request had from its changes
         *                          were never kept, and its session's copy in the node is not to be trusted
         */
        void committed();

        /** Ends the scope; what is still open is committed without being waited for. */
        @Override
        void close();

        /** Each change committed before it returns: nothing to wait for. */
        Together NONE = new Together() {
            @Override
            public void committed() {
            }

            @Override
            public void close() {
            }
        };
    }

    /**
     * Assumes, for the balance changes this thread asks for until the returned scope is closed,
     * that the store still has this session as this node last knew it: saved by this node, this
     * instance, no request after {@code lastRequestNumber}, open (or not in the store at all).
     * Each such change checks that in its own statement, and is not made when another node has
     * saved the session since: it throws {@link SessionMoved}, and the caller reads the session
     * and decides again. So a node that holds a session does not read it before each request.
     *
     * @return the scope; {@link Assumption#checked()} tells whether a change checked it (a
     *         request that changed nothing must read the session to know)
     */
    default Assumption assume(String sessionId, String instance, long lastRequestNumber) {
        return Assumption.UNCHECKED;
    }

    /** The scope of {@link #assume}. */
    interface Assumption extends AutoCloseable {
        /** Whether a balance change has checked the assumption. */
        boolean checked();

        @Override
        void close();

        /** A store that checks nothing: the caller reads the session to know. */
        Assumption UNCHECKED = new Assumption() {
            @Override
            public boolean checked() {
                return false;
            }

            @Override
            public void close() {
            }
        };
    }

    /** A change not made: another node saved the session since this node last knew it. */
    final class SessionMoved extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public SessionMoved(String sessionId) {
            super("Session " + sessionId + " was saved by another node since", null, false, false);
        }
    }

    /**
     * Tells the other nodes this one is alive (its sessions are not to be taken from it).
     *
     * @return true when this beat ends a silence longer than the node timeout (the store was out
     *         of reach, or the beat held up): the other nodes may have taken this node's sessions
     */
    boolean heartbeat();

    /**
     * Takes, once among all nodes, some of the open sessions past their Tcc and of nodes whose
     * heartbeat stopped (a bounded number a call): they are removed from the store and returned,
     * for their holds to be released and their usage records ended by the caller. Another node's
     * sessions are taken only once this node's own heartbeats have been written for the node
     * timeout: after an outage of the store every heartbeat is old, and the first node back
     * would otherwise take the sessions the others still serve.
     */
    List<Abandoned> claimAbandoned();

    /** A session taken by {@link #claimAbandoned}: its state, and whether its Tcc passed (else its node is gone). */
    record Abandoned(SessionState state, boolean tccExpired) {
    }

    /** Sessions live in the node only. */
    SharedSessions NONE = new SharedSessions() {
        @Override
        public boolean shared() {
            return false;
        }

        @Override
        public Optional<Loaded> load(String sessionId) {
            return Optional.empty();
        }

        @Override
        public void save(SessionState state) {
        }

        @Override
        public boolean heartbeat() {
            return false;
        }

        @Override
        public List<Abandoned> claimAbandoned() {
            return List.of();
        }
    };
}
