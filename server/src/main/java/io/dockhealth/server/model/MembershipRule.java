package io.dockhealth.server.model;

/**
 * Why a container answers to a service name. Declared in precedence order: when two rules give
 * the same name, the earlier one claims it. A container's own names come first, in Docker's own
 * order for a reference (full ID, name, short ID), so a group can never take over a name that
 * points at one container; group rules follow.
 */
public enum MembershipRule {
  /** The name is the container's full ID. */
  CONTAINER_ID,
  /** The name is the container's name. */
  CONTAINER_NAME,
  /** The name is the container's 12-character short ID. */
  SHORT_ID,
  /** Our label, {@code dockhealth.service=<name>} by default. */
  LABEL,
  /** Compose's {@code com.docker.compose.service} label. */
  COMPOSE_SERVICE,
  /** Compose's project and service labels, as {@code <project>/<service>}. */
  COMPOSE_PROJECT_SERVICE,
  /** Swarm's {@code com.docker.swarm.service.name} label. */
  SWARM_SERVICE,
  /** The {@code service} group of the name pattern, matched against the container's name. */
  NAME_PATTERN;

  /** Whether the name stands for this one container rather than for a group. */
  public boolean namesOneContainer() {
    return ordinal() <= SHORT_ID.ordinal();
  }
}
