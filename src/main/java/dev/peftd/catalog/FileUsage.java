package dev.peftd.catalog;

/**
 * Whether an uploaded file is still needed; the job feature provides it (an unfinished job reads its files).
 * {@link Files} requires one at construction, so there is no moment in which a file could be deleted unguarded.
 */
public interface FileUsage {

    /** True when something that has not finished still reads this file. */
    boolean fileInUse(String fileId);
}
