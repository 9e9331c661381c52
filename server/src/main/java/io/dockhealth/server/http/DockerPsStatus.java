package io.dockhealth.server.http;

import io.dockhealth.server.model.ContainerRecord;
import io.dockhealth.server.model.HealthStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The STATUS column of {@code docker ps} ("Up 5 days (healthy)"), which container-healthcheck
 * passed on from Docker's container list. dockhealth never calls Docker on a request, so it writes
 * the text itself from the model, following the daemon's {@code container.State.String()} and
 * go-units' {@code HumanDuration}.
 */
final class DockerPsStatus {
  private DockerPsStatus() {}

  static String of(ContainerRecord container, Instant now) {
    return switch (container.state()) {
      case RUNNING -> "Up " + since(container.startedAt().orElse(now), now) + health(container.health());
      case PAUSED -> "Up " + since(container.startedAt().orElse(now), now) + " (Paused)";
      case RESTARTING -> "Restarting (" + container.exitCode() + ") "
          + since(container.finishedAt().orElse(now), now) + " ago";
      case REMOVING -> "Removal In Progress";
      case DEAD -> "Dead";
      case CREATED -> "Created";
      case EXITED -> container.finishedAt().isEmpty()
          ? "Exited (" + container.exitCode() + ")"
          : "Exited (" + container.exitCode() + ") " + since(container.finishedAt().get(), now) + " ago";
      case UNKNOWN -> "";
    };
  }

  /** Docker shows health only for a running container that has a HEALTHCHECK. */
  private static String health(HealthStatus health) {
    return switch (health) {
      case NONE -> "";
      case STARTING -> " (health: starting)";
      default -> " (" + health.name().toLowerCase(Locale.ROOT) + ")";
    };
  }

  private static String since(Instant then, Instant now) {
    return humanDuration(Duration.between(then, now));
  }

  /** go-units' HumanDuration, branch for branch. */
  static String humanDuration(Duration d) {
    long seconds = d.getSeconds();
    if (seconds < 1) {
      return "Less than a second";
    } else if (seconds == 1) {
      return "1 second";
    } else if (seconds < 60) {
      return seconds + " seconds";
    }
    long minutes = d.toMinutes();
    if (minutes == 1) {
      return "About a minute";
    } else if (minutes < 60) {
      return minutes + " minutes";
    }
    // Go rounds the hours: int(d.Hours() + 0.5).
    long hours = (long) (d.toMillis() / 3_600_000.0 + 0.5);
    if (hours == 1) {
      return "About an hour";
    } else if (hours < 48) {
      return hours + " hours";
    } else if (hours < 24 * 7 * 2) {
      return hours / 24 + " days";
    } else if (hours < 24 * 30 * 2) {
      return hours / 24 / 7 + " weeks";
    } else if (hours < 24 * 365 * 2) {
      return hours / 24 / 30 + " months";
    }
    return d.toHours() / 24 / 365 + " years";
  }
}
