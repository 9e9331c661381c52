package io.dockhealth.bench;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * Container records made up for the benchmarks that measure the front ends, not Docker: they go
 * into the real {@link io.dockhealth.server.model.Registry} through its {@code ContainerModel}
 * writer API, exactly where the Docker source puts what it reads.
 */
final class Synthetic {
  private static final Instant CREATED = Instant.parse("2025-01-01T00:00:00Z");

  private Synthetic() {}

  /**
   * The names of {@code count} containers: {@code svc0000}, {@code svc0001}, ... They do not end in
   * {@code -<digits>}, so the default name pattern puts them in no group: 1,000 containers are
   * 1,000 service names (each also answers to its full and short ID, as every container does).
   */
  static List<String> names(int count) {
    return IntStream.range(0, count).mapToObj(i -> String.format("svc%04d", i)).toList();
  }

  /** A running container without a HEALTHCHECK (SERVING), with a stable ID derived from its name. */
  static ContainerRecord container(String name, Map<String, String> labels) {
    return new ContainerRecord(id(name), name, "bench/app:1", "/app --serve", CREATED, ContainerState.RUNNING,
        HealthStatus.NONE, 0, ImmutableList.of(), 0, false, Optional.of(CREATED.plusSeconds(1)), Optional.empty(),
        0, ImmutableList.of(), ImmutableMap.copyOf(labels));
  }

  /** The same container serving ({@code running}) or not ({@code paused}). */
  static ContainerRecord serving(ContainerRecord container, boolean serving) {
    return container.withState(serving ? ContainerState.RUNNING : ContainerState.PAUSED, container.health());
  }

  static String id(String name) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
