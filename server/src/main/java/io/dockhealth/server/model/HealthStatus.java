package io.dockhealth.server.model;

import java.util.Locale;

/** The result of a container's HEALTHCHECK, as Docker reports it in {@code State.Health.Status}. */
public enum HealthStatus {
  /** The container has no HEALTHCHECK. */
  NONE,
  STARTING,
  HEALTHY,
  UNHEALTHY,
  /** Docker reported something this version of dockhealth does not know. */
  UNKNOWN;

  /**
   * Maps Docker's health status; {@code null} or empty (no {@code State.Health}) is {@link #NONE},
   * anything unexpected is {@link #UNKNOWN}.
   */
  public static HealthStatus fromDocker(String status) {
    if (status == null || status.isEmpty() || status.equals("none")) {
      return NONE;
    }
    try {
      HealthStatus health = valueOf(status.toUpperCase(Locale.ROOT));
      return health == NONE ? UNKNOWN : health;
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
