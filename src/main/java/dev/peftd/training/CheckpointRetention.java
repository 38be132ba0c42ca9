package dev.peftd.training;

import dev.peftd.training.CheckpointLog.Saved;
import dev.peftd.storage.ArtifactStore;
import java.io.IOException;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Keeps a job's checkpoints from piling up ({@code PEFTD_CHECKPOINT_KEEP_LAST}, 0 keeps all): after each new
 * checkpoint, the newest {@code keepLast} stay, and so does the "best": the one with the lowest validation loss when
 * the job evaluates at checkpoint steps ({@code eval_every}), else the one with the lowest training loss of its step.
 * The newest is the one
 * a resumed run starts from, so a resume always finds its checkpoint. A pruned checkpoint is unlisted first and its
 * objects deleted after, so a listed checkpoint always has its files.
 */
@Component
class CheckpointRetention {

    private static final Logger log = LoggerFactory.getLogger(CheckpointRetention.class);

    private final CheckpointLog checkpoints;
    private final ArtifactStore store;
    private final int keepLast;

    CheckpointRetention(CheckpointLog checkpoints, ArtifactStore store,
            TrainingProperties properties) {
        this.checkpoints = checkpoints;
        this.store = store;
        this.keepLast = properties.checkpointKeepLast();
    }

    /** Called once checkpoint {@code current} of the job is recorded under the job's lease. */
    void prune(String jobId, int current) {
        if (keepLast == 0) {
            return;
        }
        for (Saved expired : expired(checkpoints.saved(jobId), keepLast, current)) {
            checkpoints.delete(jobId, expired.stepNumber());
            try {
                store.deleteAll(expired.storageKey());
            } catch (IOException e) {
                // housekeeping must not fail the run; the unlisted objects go with the job when it is deleted
                log.warn("job {}: could not delete pruned checkpoint at step {}: {}", jobId, expired.stepNumber(),
                        e.getMessage());
            }
        }
    }

    /**
     * The checkpoints to drop: all but the newest {@code keepLast}, {@code current} and the best (lowest validation
     * loss when any checkpoint has one, else lowest training loss; the newer on a tie).
     */
    static List<Saved> expired(List<Saved> all, int keepLast, int current) {
        Set<Integer> kept = new HashSet<>();
        kept.add(current);
        all.stream().sorted(Comparator.comparingInt(Saved::stepNumber).reversed()).limit(keepLast)
                .forEach(c -> kept.add(c.stepNumber()));
        Function<Saved, Double> loss = all.stream().anyMatch(c -> known(c.validLoss()))
                ? Saved::validLoss : Saved::trainLoss;
        all.stream().filter(c -> known(loss.apply(c)))
                .min(Comparator.comparingDouble((Saved c) -> loss.apply(c))
                        .thenComparing(Comparator.comparingInt(Saved::stepNumber).reversed()))
                .ifPresent(best -> kept.add(best.stepNumber()));
        return all.stream().filter(c -> !kept.contains(c.stepNumber())).toList();
    }

    private static boolean known(Double loss) {
        return loss != null && !loss.isNaN();
    }
}
