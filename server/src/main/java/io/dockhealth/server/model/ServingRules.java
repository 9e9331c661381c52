package io.dockhealth.server.model;

/**
 * Derives a container's serving status from its state and HEALTHCHECK (the table in the README).
 */
public final class ServingRules {
  private ServingRules() {}

  /**
   * SERVING only for a running container that is healthy or has no HEALTHCHECK. A container whose
   * check is still {@code starting} has not proven anything yet, so it does not take traffic.
   */
  public static ServingStatus servingStatus(ContainerState state, HealthStatus health) {
    if (state != ContainerState.RUNNING) {
      return ServingStatus.NOT_SERVING;
    }
    return switch (health) {
      case NONE, HEALTHY -> ServingStatus.SERVING;
      case STARTING, UNHEALTHY, UNKNOWN -> ServingStatus.NOT_SERVING;
    };
  }

  public static ServingStatus servingStatus(ContainerRecord container) {
    return servingStatus(container.state(), container.health());
  }
}
