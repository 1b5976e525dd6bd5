package org.gyocs.behaviour;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import org.gyocs.core.CreditControlRequest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The test behaviours of a node, in the order they were added: a request is changed by the first
 * rule that matches it and has uses left. With no rule (normal operation) {@link #apply} is one
 * read of an empty array, so behaviours cost nothing where none are defined.
 */
public final class Behaviours {
    /** At most this many rules: a lab scripts a few, and every request is compared with each. */
    public static final int MAX_RULES = 1_000;

    /** A rule with how many requests it has changed. */
    public static final class Rule {
        private final Behaviour behaviour;
        private final AtomicLong hits = new AtomicLong();

        Rule(Behaviour behaviour) {
            this.behaviour = behaviour;
        }

        public Behaviour behaviour() {
            return behaviour;
        }

        public String id() {
            return behaviour.id();
        }

        public long hits() {
            return hits.get();
        }

        /** Takes one use, if the rule has one left. */
        private boolean take() {
            Long times = behaviour.times();
            if (times == null) {
                hits.incrementAndGet();
                return true;
            }
            long n;
            do {
                n = hits.get();
                if (n >= times) {
                    return false;
                }
            } while (!hits.compareAndSet(n, n + 1));
            return true;
        }
    }

    /** A rule's id is taken already (HTTP 409). */
    public static final class IdTaken extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        IdTaken(String id) {
            super("id: a behaviour named " + id + " exists already");
        }

        IdTaken(String id, String message) {
            super(message);
        }
    }

    private volatile Rule[] rules = new Rule[0];
    private long nextId = 1;

    /**
     * The rule that changes this request, its use taken; null when none does (always, without rules).
     */
    public Rule apply(CreditControlRequest r) {
        Rule[] all = rules;
        if (all.length == 0) {
            return null;
        }
        for (Rule rule : all) {
            if (rule.behaviour.match().matches(r) && rule.take()) {
                return rule;
            }
        }
        return null;
    }

    /**
     * Adds a rule, named "b1", "b2"... when it has no id.
     *
     * @throws IllegalArgumentException when its id is taken, or there are {@link #MAX_RULES} already
     */
    public synchronized Rule add(Behaviour b) {
        return addAll(List.of(b)).get(0);
    }

    /** The rule for {@code b} after {@code before}: named, its id checked, nothing published yet. */
    private Rule named(Behaviour b, List<Rule> before) {
        if (before.size() >= MAX_RULES) {
            throw new IllegalArgumentException("at most " + MAX_RULES + " behaviours; delete some first");
        }
        String id = b.id();
        if (id == null) {
            do {
                id = "b" + nextId++;
            } while (taken(id, before));
        } else if (taken(id, before)) {
            throw new IdTaken(id);
        }
        return new Rule(new Behaviour(id, b.match(), b.times(), b.answer()));
    }

    private static boolean taken(String id, List<Rule> rules) {
        for (Rule r : rules) {
            if (r.id().equals(id)) {
                return true;
            }
        }
        return false;
    }

    /** Every rule, in the order they apply. */
    public List<Rule> list() {
        return List.of(rules);
    }

    public Optional<Rule> find(String id) {
        for (Rule r : rules) {
            if (r.id().equals(id)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    /** @return whether there was such a rule */
    public synchronized boolean remove(String id) {
        List<Rule> left = new ArrayList<>(List.of(rules));
        boolean removed = left.removeIf(r -> r.id().equals(id));
        rules = left.toArray(new Rule[0]);
        return removed;
    }

    /** @return how many rules there were */
    public synchronized int clear() {
        int n = rules.length;
        rules = new Rule[0];
        return n;
    }

    /**
     * Reads a --behaviours file: a JSON array of rules, all or none.
     *
     * @throws IllegalArgumentException naming the file, the rule's place and the field that is wrong
     */
    public static List<Behaviour> readFile(Path file) throws IOException {
        JsonNode all;
        try {
            all = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not JSON: " + e.getOriginalMessage());
        }
        if (all == null || !all.isArray()) {
            throw new IllegalArgumentException(file + ": a JSON array of behaviours");
        }
        if (all.size() > MAX_RULES) {
            throw new IllegalArgumentException(file + ": " + all.size() + " behaviours, at most " + MAX_RULES);
        }
        List<Behaviour> out = new ArrayList<>();
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (int i = 0; i < all.size(); i++) {
            try {
                Behaviour b = BehaviourJson.read(all.get(i));
                if (b.id() != null && !ids.add(b.id())) {
                    throw new IllegalArgumentException("id: " + b.id() + " names an earlier behaviour too");
                }
                out.add(b);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": behaviour " + (i + 1) + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /**
     * Adds several rules, all or none: one that cannot be added (its id taken) refuses the lot,
     * named by its place ("behaviour 2: ...").
     *
     * @return the rules added, in order
     */
    public synchronized List<Rule> addAll(List<Behaviour> more) {
        // every rule checked before any is published: requests never see half of them
        List<Rule> all = new ArrayList<>(List.of(rules));
        List<Rule> added = new ArrayList<>(more.size());
        for (int i = 0; i < more.size(); i++) {
            try {
                Rule rule = named(more.get(i), all);
                all.add(rule);
                added.add(rule);
            } catch (IllegalArgumentException e) {
                if (more.size() == 1) {
                    throw e;
                }
                String why = "behaviour " + (i + 1) + ": " + e.getMessage();
                throw e instanceof IdTaken ? new IdTaken(more.get(i).id(), why) : new IllegalArgumentException(why, e);
            }
        }
        rules = all.toArray(new Rule[0]);
        return added;
    }

    /** Replaces every rule with these (a --behaviours file at start), all or none. */
    public synchronized void replaceAll(List<Behaviour> with) {
        Rule[] before = rules;
        rules = new Rule[0];
        try {
            addAll(with);
        } catch (IllegalArgumentException e) {
            rules = before;
            throw e;
        }
    }
}
