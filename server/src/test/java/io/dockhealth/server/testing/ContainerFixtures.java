package io.dockhealth.server.testing;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.hash.Hashing;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import io.dockhealth.server.model.PortMapping;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Container records for unit tests, with IDs derived from their names. */
public final class ContainerFixtures {
  private ContainerFixtures() {}

  /** A 64-hex-digit ID that is the same for the same name in every run. */
  public static String idOf(String name) {
    return Hashing.sha256().hashString(name, StandardCharsets.UTF_8).toString();
  }

  public static ContainerRecord container(String name, ContainerState state, HealthStatus health) {
    return new ContainerRecord(idOf(name), name, "dockhealth-test/busybox:1", "sleep 600",
        Instant.parse("2026-01-01T00:00:00Z"), state, health, 0, ImmutableList.of(), 0, false,
        Optional.of(Instant.parse("2026-01-01T00:00:01Z")), Optional.empty(), 0, ImmutableList.of(),
        ImmutableMap.of());
  }

  /** The container with other labels and ports. */
  public static ContainerRecord with(ContainerRecord c, Map<String, String> labels, List<PortMapping> ports) {
    return new ContainerRecord(c.id(), c.name(), c.image(), c.command(), c.created(), c.state(), c.health(),
        c.failingStreak(), c.probes(), c.exitCode(), c.oomKilled(), c.startedAt(), c.finishedAt(),
        c.restartCount(), ImmutableList.copyOf(ports), ImmutableMap.copyOf(labels));
  }

  /** The container with other labels. */
  public static ContainerRecord withLabels(ContainerRecord c, Map<String, String> labels) {
    return with(c, labels, c.ports());
  }

  /** A running container without a HEALTHCHECK: SERVING. */
  public static ContainerRecord running(String name) {
    return container(name, ContainerState.RUNNING, HealthStatus.NONE);
  }
}
