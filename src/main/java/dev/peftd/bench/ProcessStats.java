package dev.peftd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's CPU time and peak resident memory, from Linux's /proc (NaN elsewhere), as the benchmarks and
 * {@code train} report them.
 */
public final class ProcessStats {

    private ProcessStats() {
    }

    /**
     * User + system CPU time of the whole process (all libtorch threads) in seconds; on a shared, loaded machine this
     * is steadier than wall time.
     */
    public static double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0; // utime, stime in USER_HZ ticks
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** VmHWM: the peak resident set of this process, in MiB. */
    public static double peakRssMb() {
        return statusMb("VmHWM:");
    }

    /**
     * Starts a new peak: Linux resets VmHWM to the current resident set when "5" is written to clear_refs (since 4.0),
     * so a process that runs several trainings one after another can report each one's own peak. Returns whether the
     * reset happened (false elsewhere, where the peak stays the process's).
     */
    public static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** VmRSS: the resident set of this process now, in MiB. */
    public static double rssMb() {
        return statusMb("VmRSS:");
    }

    private static double statusMb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return Double.NaN;
    }
}
