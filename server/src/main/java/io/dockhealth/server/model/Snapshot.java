package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableListMultimap;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import java.time.Instant;
import java.util.Optional;

/**
 * Everything the front ends may read, frozen at one version. A snapshot never changes; the
 * registry publishes a new one with a higher version when anything in it would differ.
 *
 * @param version grows by one with each published change
 * @param publishedAt when the registry published this version
 * @param inSync whether the sidecar is connected to Docker and has resynced since connecting;
 *     while false, the container data is the last known and marked stale
 * @param shuttingDown whether the sidecar is shutting down: "" is NOT_SERVING for good, other names
 *     go on following Docker unless {@code terminal}
 * @param terminal whether the sidecar is shutting down with its host: every name is NOT_SERVING
 *     for good
 * @param containers every exposed container by full ID, including removed ones not yet forgotten
 * @param removed the IDs of containers Docker no longer has, whose names answer NOT_SERVING until
 *     the forget-after period ends
 * @param staleContainers the IDs of containers Docker erred about: their data is the last known,
 *     their status too for the stale grace, then NOT_SERVING
 * @param services every service name, including "" for the sidecar itself
 * @param namesByContainer the service names each container answers to, by full ID
 */
public record Snapshot(
    long version,
    Instant publishedAt,
    boolean inSync,
    boolean shuttingDown,
    boolean terminal,
    ImmutableMap<String, ContainerRecord> containers,
    ImmutableSet<String> removed,
    ImmutableSet<String> staleContainers,
    ImmutableMap<String, ServiceEntry> services,
    ImmutableListMultimap<String, String> namesByContainer) {

  /** The name the health protocol uses for the server itself. */
  public static final String SIDECAR = "";

  public Snapshot {
    checkNotNull(publishedAt, "publishedAt");
    checkNotNull(containers, "containers");
    checkNotNull(removed, "removed");
    checkNotNull(staleContainers, "staleContainers");
    checkNotNull(services, "services");
    checkNotNull(namesByContainer, "namesByContainer");
  }

  /** The status of a service name, empty when the name is unknown. */
  public Optional<ServingStatus> status(String name) {
    ServiceEntry entry = services.get(name);
    return entry == null ? Optional.empty() : Optional.of(entry.status());
  }

  /**
   * The container a name, full ID or short ID stands for; empty when the name is unknown or names
   * a group.
   */
  public Optional<ContainerRecord> container(String nameOrId) {
    ServiceEntry entry = services.get(nameOrId);
    if (entry == null || entry.members().size() != 1 || !entry.members().get(0).rule().namesOneContainer()) {
      return Optional.empty();
    }
    return Optional.ofNullable(containers.get(entry.members().get(0).containerId()));
  }

  /**
   * Whether what the model holds about this container is the last known rather than live: Docker
   * cannot be reached, or it erred about this container.
   */
  public boolean isStale(String containerId) {
    return !inSync || staleContainers.contains(containerId);
  }

  /**
   * Whether a name's status rests on data that is the last known rather than live: Docker cannot be
   * reached, or a member is stale.
   */
  public boolean isStale(ServiceEntry entry) {
    return !inSync || entry.members().stream().anyMatch(m -> staleContainers.contains(m.containerId()));
  }

  /**
   * Whether the two snapshots give every health answer the same way: each name's status, members and
   * stale flag, and the sync and shutdown state. Container detail (a probe log, a restart count) may
   * differ.
   */
  public boolean sameHealthAs(Snapshot other) {
    return inSync == other.inSync
        && shuttingDown == other.shuttingDown
        && terminal == other.terminal
        && staleContainers.equals(other.staleContainers)
        && services.equals(other.services);
  }

  /** Whether the two snapshots hold the same containers, each with the same detail. */
  boolean sameDetailAs(Snapshot other) {
    return containers.equals(other.containers) && removed.equals(other.removed);
  }
}
