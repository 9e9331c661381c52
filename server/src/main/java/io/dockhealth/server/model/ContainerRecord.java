package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What dockhealth knows about one container: an immutable value, replaced whole when Docker tells
 * something new.
 *
 * @param id the full 64-character ID
 * @param name the name without Docker's leading "/"
 * @param labels kept for deciding service names; never shown to clients
 */
public record ContainerRecord(
    String id,
    String name,
    String image,
    String command,
    Instant created,
    ContainerState state,
    HealthStatus health,
    int failingStreak,
    ImmutableList<ProbeResult> probes,
    int exitCode,
    boolean oomKilled,
    Optional<Instant> startedAt,
    Optional<Instant> finishedAt,
    int restartCount,
    ImmutableList<PortMapping> ports,
    ImmutableMap<String, String> labels) {

  /** Docker's short ID length, as {@code docker ps} prints it. */
  public static final int SHORT_ID_LENGTH = 12;

  /** Docker's full IDs; compiled once, as every event makes records. */
  private static final Pattern FULL_ID = Pattern.compile("[0-9a-f]{64}");

  public ContainerRecord {
    checkArgument(id != null && FULL_ID.matcher(id).matches(), "id: %s (expected: 64 lower-case hex digits)", id);
    checkArgument(name != null && !name.isEmpty(), "name of %s is empty", id);
    checkNotNull(image, "image");
    checkNotNull(command, "command");
    checkNotNull(created, "created");
    checkNotNull(state, "state");
    checkNotNull(health, "health");
    checkNotNull(probes, "probes");
    checkNotNull(startedAt, "startedAt");
    checkNotNull(finishedAt, "finishedAt");
    checkNotNull(ports, "ports");
    checkNotNull(labels, "labels");
  }

  /** The 12-character ID that {@code docker ps} shows. */
  public String shortId() {
    return id.substring(0, SHORT_ID_LENGTH);
  }

  /** The label naming the container port a balancer should send traffic to. */
  public static final String PORT_LABEL = "dockhealth.port";

  /**
   * Where a balancer on this host reaches the container ({@code host:port}): the port its
   * {@code dockhealth.port} label names (published, or as is on the host network), else its only
   * published TCP port. Empty when neither says.
   */
  public Optional<String> upstream() {
    String label = labels.get(PORT_LABEL);
    if (label != null) {
      int wanted;
      try {
        wanted = Integer.parseInt(label.trim());
      } catch (NumberFormatException e) {
        return Optional.empty();
      }
      if (wanted <= 0 || wanted > 65535) {
        return Optional.empty();
      }
      return ports.stream()
          .filter(p -> p.privatePort() == wanted && p.protocol().equals("tcp") && p.hostPort() > 0)
          .findFirst()
          .map(ContainerRecord::address)
          .or(() -> Optional.of("127.0.0.1:" + wanted)); // not published: the host network
    }
    List<PortMapping> published = ports.stream().filter(p -> p.protocol().equals("tcp") && p.hostPort() > 0).toList();
    return published.size() == 1 ? Optional.of(address(published.get(0))) : Optional.empty();
  }

  private static String address(PortMapping port) {
    String host = port.hostIp().isEmpty() || port.hostIp().equals("0.0.0.0") || port.hostIp().equals("::")
        ? "127.0.0.1"
        : port.hostIp();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port.hostPort();
  }

  /** Whether the container has a HEALTHCHECK. */
  public boolean hasHealthcheck() {
    return health != HealthStatus.NONE;
  }

  /** This container in another lifecycle state with another health. */
  public ContainerRecord withState(ContainerState newState, HealthStatus newHealth) {
    return new ContainerRecord(id, name, image, command, created, newState, newHealth, failingStreak,
        probes, exitCode, oomKilled, startedAt, finishedAt, restartCount, ports, labels);
  }

  /** This container after its process ended with {@code code} at {@code at}. */
  public ContainerRecord withExit(int code, Instant at, HealthStatus newHealth) {
    return new ContainerRecord(id, name, image, command, created, ContainerState.EXITED, newHealth,
        failingStreak, probes, code, oomKilled, startedAt, Optional.of(at), restartCount, ports, labels);
  }

  /** This container after its process started at {@code at}; Docker clears the exit code then. */
  public ContainerRecord withStart(Instant at, HealthStatus newHealth) {
    return new ContainerRecord(id, name, image, command, created, ContainerState.RUNNING, newHealth,
        failingStreak, probes, 0, false, Optional.of(at), finishedAt, restartCount, ports, labels);
  }

  /** This container after the kernel's OOM killer hit it. */
  public ContainerRecord withOomKilled() {
    return new ContainerRecord(id, name, image, command, created, state, health, failingStreak,
        probes, exitCode, true, startedAt, finishedAt, restartCount, ports, labels);
  }
}
