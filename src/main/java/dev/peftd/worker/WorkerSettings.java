package dev.peftd.worker;

import dev.peftd.kernel.Settings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code PEFTD_WORKER_COUNT} workers, spread round-robin over {@code PEFTD_WORKER_DEVICES} ({@code cpu} or
 * {@code gpu:0,gpu:1}), each holding a {@code PEFTD_WORKER_LEASE} lease that a heartbeat renews every third of it.
 * Bound from {@code peftd.worker.*}; {@code peftd.worker.max-attempts} is the job feature's ({@code JobProperties}).
 */
@ConfigurationProperties("peftd.worker")
record WorkerSettings(int count, List<String> devices, Duration lease, Duration pollInterval, Duration shutdownTimeout) {

    private static final Pattern DEVICE = Pattern.compile("cpu|gpu:[0-9]{1,2}");

    WorkerSettings {
        if (count < 0 || count > 256) {
            throw new IllegalArgumentException("peftd.worker.count (PEFTD_WORKER_COUNT) must be between 0 and 256, got "
                    + count);
        }
        devices = trimmed(Settings.required(devices, "peftd.worker.devices"));
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("peftd.worker.devices (PEFTD_WORKER_DEVICES) is empty; use cpu or "
                    + "gpu:0,gpu:1,…");
        }
        for (String device : devices) {
            if (!DEVICE.matcher(device).matches()) {
                throw new IllegalArgumentException("peftd.worker.devices (PEFTD_WORKER_DEVICES): '" + device
                        + "' is not cpu or gpu:N");
            }
        }
        if (Settings.required(lease, "peftd.worker.lease").compareTo(Duration.ofSeconds(3)) < 0) {
            throw new IllegalArgumentException("peftd.worker.lease (PEFTD_WORKER_LEASE) must be at least 3s, got "
                    + lease);
        }
        Settings.positive(pollInterval, "peftd.worker.poll-interval");
        Settings.required(shutdownTimeout, "peftd.worker.shutdown-timeout");
    }

    static WorkerSettings of(int count, String devices, Duration lease, Duration pollInterval, Duration shutdownTimeout) {
        return new WorkerSettings(count, List.of(devices.split(",")), lease, pollInterval, shutdownTimeout);
    }

    private static List<String> trimmed(List<String> devices) {
        List<String> list = new ArrayList<>();
        for (String device : devices) {
            if (device != null && !device.isBlank()) {
                list.add(device.trim());
            }
        }
        return List.copyOf(list);
    }

    WorkerSettings withoutWorkers() {
        return new WorkerSettings(0, devices, lease, pollInterval, shutdownTimeout);
    }

    String deviceOf(int worker) {
        return devices.get(worker % devices.size());
    }

    Duration heartbeat() {
        return lease.dividedBy(3);
    }
}
