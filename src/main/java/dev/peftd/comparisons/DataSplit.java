package dev.peftd.comparisons;

import dev.peftd.kernel.Refusal;
import dev.peftd.security.Tenant;
import org.springframework.stereotype.Component;

/**
 * Which files a comparison's children read. Every method is scored on held-out data, so a comparison needs a
 * {@code validation_file} or a {@code validation_fraction}: the last fraction of the training file's records, split
 * off deterministically into two new files (the catalog's {@link dev.peftd.catalog.Files#holdOut}).
 */
@Component
class DataSplit {

    /** At most half the data held out: the rest must still train. */
    static final double MAX_FRACTION = 0.5;

    private final dev.peftd.catalog.Files catalog;

    DataSplit(dev.peftd.catalog.Files catalog) {
        this.catalog = catalog;
    }

    /** The request's data fields, checked for their shape (whether the files exist is checked with the children). */
    record Given(String trainingFile, String validationFile, Double fraction) {
    }

    /** What the children train and are evaluated on. */
    record Files(String trainingFile, String validationFile) {
    }

    static Given given(String trainingFile, String validationFile, Double fraction) {
        if (trainingFile == null || trainingFile.isBlank()) {
            throw Refusal.invalidField("training_file", "missing; upload a JSONL file with POST /v1/files");
        }
        if (validationFile != null && fraction != null) {
            throw Refusal.invalidField("validation_fraction", "give validation_file or validation_fraction, not both");
        }
        if (validationFile == null && fraction == null) {
            throw Refusal.invalidField("validation_file", "missing; every method is scored on held-out data: give a "
                    + "validation_file, or a validation_fraction of the training file to hold out");
        }
        if (fraction != null && !(fraction > 0 && fraction <= MAX_FRACTION)) {
            throw Refusal.invalidField("validation_fraction", "must be above 0 and at most " + MAX_FRACTION
                    + ", got " + fraction);
        }
        return new Given(trainingFile, validationFile, fraction);
    }

    /** Inside the create transaction: a fraction stores two new files, which a rollback removes again. */
    Files files(Tenant tenant, Given given) {
        if (given.fraction() == null) {
            return new Files(given.trainingFile(), given.validationFile());
        }
        if (catalog.find(tenant, given.trainingFile()).isEmpty()) {
            throw Refusal.invalidField("training_file", "no file with id '" + given.trainingFile() + "'");
        }
        dev.peftd.catalog.Files.Split split = catalog.holdOut(tenant, given.trainingFile(), given.fraction(),
                "validation_fraction");
        return new Files(split.kept(), split.heldOut());
    }
}
