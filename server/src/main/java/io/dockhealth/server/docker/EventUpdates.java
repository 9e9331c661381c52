package io.dockhealth.server.docker;

import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.ContainerState;
import io.dockhealth.server.model.HealthStatus;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What a Docker event alone says about a container, applied before the inspect that confirms it,
 * so a health change reaches watchers without waiting for another round trip to Docker.
 *
 * <p>Docker changes health without a {@code health_status} event in two places: a (re)start puts a
 * container with a HEALTHCHECK back to {@code starting}, and a stop puts it to {@code unhealthy}.
 * The state events are followed here for that reason.
 */
final class EventUpdates {
  /**
   * The container actions dockhealth subscribes to: every one that changes state, health, name or
   * existence. The engine filters the stream to these.
   */
  static final Set<String> ACTIONS = Set.of(
      "create", "start", "restart", "die", "stop", "kill", "pause", "unpause", "oom",
      "rename", "update", "destroy", "health_status");

  private EventUpdates() {}

  /**
   * The kind of an event for counting: its action without the detail Docker appends after a colon
   * ({@code health_status: healthy} is {@code health_status}), or {@code other} for anything not in
   * {@link #ACTIONS}, so that no answer of Docker's can grow the set of metric labels.
   */
  static String kind(String action) {
    if (action == null) {
      return "other";
    }
    int colon = action.indexOf(':');
    String kind = colon < 0 ? action : action.substring(0, colon);
    return ACTIONS.contains(kind) ? kind : "other";
  }

  /**
   * The container as the event leaves it, or empty when the event says nothing certain without an
   * inspect.
   *
   * @param action Docker's action, such as {@code die} or {@code health_status: healthy}
   */
  static Optional<ContainerRecord> apply(ContainerRecord container, String action,
      Map<String, String> attributes, Instant time) {
    if (overtaken(container, action, time)) {
      return Optional.empty();
    }
    HealthStatus restartedHealth = container.hasHealthcheck() ? HealthStatus.STARTING : HealthStatus.NONE;
    HealthStatus stoppedHealth = container.hasHealthcheck() ? HealthStatus.UNHEALTHY : HealthStatus.NONE;
    if (action.startsWith("health_status:")) {
      HealthStatus health = HealthStatus.fromDocker(action.substring("health_status:".length()).trim());
      return Optional.of(container.withState(container.state(), health));
    }
    return switch (action) {
      case "start", "restart" -> Optional.of(container.withStart(time, restartedHealth));
      case "die" -> Optional.of(container.withExit(exitCode(attributes, container), time, stoppedHealth));
      case "pause" -> Optional.of(container.withState(ContainerState.PAUSED, container.health()));
      case "unpause" -> Optional.of(container.withState(ContainerState.RUNNING, container.health()));
      case "oom" -> Optional.of(container.withOomKilled());
      default -> Optional.empty();
    };
  }

  /**
   * Whether the container as known already shows something later than the event: an inspect that
   * answered after the event was sent but before it was read. A restart is the common case: the
   * inspect asked for on {@code kill} finds the container running again, and the {@code die} read
   * after it would turn it NOT_SERVING for nothing until the {@code start} that follows. Docker
   * gives both event times and these record times in nanoseconds, from the same clock.
   */
  private static boolean overtaken(ContainerRecord container, String action, Instant time) {
    if (action.startsWith("health_status:")) {
      return container.probes().stream().anyMatch(probe -> probe.start().isAfter(time));
    }
    return switch (action) {
      case "die" -> container.startedAt().filter(started -> started.isAfter(time)).isPresent();
      case "start", "restart" -> container.finishedAt().filter(finished -> finished.isAfter(time)).isPresent();
      default -> false;
    };
  }

  private static int exitCode(Map<String, String> attributes, ContainerRecord container) {
    String code = attributes.get("exitCode");
    if (code == null) {
      return container.exitCode();
    }
    try {
      return Integer.parseInt(code);
    } catch (NumberFormatException e) {
      throw new DockerAnswerException("die event of " + container.name() + ": exitCode \"" + code
          + "\" (expected: an integer)");
    }
  }
}
