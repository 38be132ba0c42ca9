package dev.peftd.queue;

import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The life of a fine-tuning job, and the only place its states are named. The wire name ({@link #wire()}) is what the
 * API returns and what the {@code status} column holds; SQL takes it from here ({@link #sql()}, {@link #sqlList}).
 *
 * <pre>
 *   queued ──claim──▶ running ──finish──▶ succeeded | failed | cancelled
 *    ▲  ◀─release, reap─┘ │ │
 *    │                    │ └─cancel──▶ cancelling ──finish, release, reap──▶ succeeded | failed | cancelled
 *    │                    └──pause──▶ pausing ──release, reap (checkpointed)──▶ paused
 *    └─────────────────────────────────────resume──────────────────────────────────┘
 * </pre>
 *
 * A running job goes back to {@code queued} when its worker hands it back at shutdown or the reaper finds its lease
 * expired; a job that is cancelling can still end {@code succeeded} or {@code failed} when the run finished before it
 * saw the request. Pausing is the same hand-back asked for by the user: the worker checkpoints at the next step
 * boundary and the job waits, {@code paused}, without a worker or a lease until it is resumed ({@code queued} again,
 * continuing from that checkpoint). A queued job is paused at once.
 */
public enum JobState {
    QUEUED, RUNNING, CANCELLING, PAUSING, PAUSED, SUCCEEDED, FAILED, CANCELLED;

    private static final Map<JobState, Set<JobState>> NEXT = new EnumMap<>(JobState.class);

    static {
        NEXT.put(QUEUED, EnumSet.of(RUNNING, PAUSED, CANCELLED));
        NEXT.put(RUNNING, EnumSet.of(QUEUED, CANCELLING, PAUSING, SUCCEEDED, FAILED, CANCELLED));
        NEXT.put(CANCELLING, EnumSet.of(SUCCEEDED, FAILED, CANCELLED));
        NEXT.put(PAUSING, EnumSet.of(PAUSED, CANCELLING, SUCCEEDED, FAILED, CANCELLED));
        NEXT.put(PAUSED, EnumSet.of(QUEUED, CANCELLED));
        NEXT.put(SUCCEEDED, EnumSet.noneOf(JobState.class));
        NEXT.put(FAILED, EnumSet.noneOf(JobState.class));
        NEXT.put(CANCELLED, EnumSet.noneOf(JobState.class));
    }

    /** States a worker holds a lease in; every write of the worker is fenced on them and on its token. */
    public static final Set<JobState> LEASED = EnumSet.of(RUNNING, CANCELLING, PAUSING);
    /**
     * States that hold, wait for or may again wait for a worker (count towards a tenant's limit, keep their files in
     * use): a paused job holds no worker, but resuming it must not push the tenant past its limit.
     */
    public static final Set<JobState> ACTIVE = EnumSet.of(QUEUED, RUNNING, CANCELLING, PAUSING, PAUSED);

    /** A job that changed state behind our back, or code that asked for a move the lifecycle does not have. */
    public static final class IllegalTransition extends IllegalStateException {
        private final JobState from;
        private final JobState to;

        IllegalTransition(JobState from, JobState to) {
            super("a " + from.wire() + " job cannot become " + to.wire());
            this.from = from;
            this.to = to;
        }

        public JobState from() {
            return from;
        }

        public JobState to() {
            return to;
        }
    }

    /** The name in JSON and in the database: lower case. */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The wire name, so that a state in a message reads as the API shows it. */
    @Override
    public String toString() {
        return wire();
    }

    /** The wire name as a SQL string literal; wire names are fixed identifiers, so nothing needs escaping. */
    public String sql() {
        return "'" + wire() + "'";
    }

    /** {@code ('running', 'cancelling')}: the states as a SQL list, in declaration order. */
    public static String sqlList(Set<JobState> states) {
        return states.stream().sorted().map(JobState::sql).collect(Collectors.joining(", ", "(", ")"));
    }

    /**
     * The SQL literal of {@code to}, for a statement that moves jobs in any of {@code from} there.
     *
     * @throws IllegalTransition when one of those moves is not an arrow of the lifecycle
     */
    public static String sqlMove(Set<JobState> from, JobState to) {
        from.forEach(state -> state.moveTo(to));
        return to.sql();
    }

    public static JobState fromWire(String wire) {
        for (JobState state : values()) {
            if (state.wire().equals(wire)) {
                return state;
            }
        }
        throw new IllegalArgumentException("no job state '" + wire + "'");
    }

    public boolean terminal() {
        return NEXT.get(this).isEmpty();
    }

    public boolean active() {
        return ACTIVE.contains(this);
    }

    public boolean canMoveTo(JobState next) {
        return NEXT.get(this).contains(next);
    }

    /** @throws IllegalTransition when the lifecycle has no arrow from this state to {@code next} */
    public JobState moveTo(JobState next) {
        if (!canMoveTo(next)) {
            throw new IllegalTransition(this, next);
        }
        return next;
    }

    /** The states with an arrow into {@code next}. */
    public static Set<JobState> into(JobState next) {
        Set<JobState> from = EnumSet.noneOf(JobState.class);
        for (JobState state : values()) {
            if (state.canMoveTo(next)) {
                from.add(state);
            }
        }
        return from;
    }
}
