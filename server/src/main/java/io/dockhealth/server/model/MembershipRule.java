package io.dockhealth.server.model;

/**
 * Why a container answers to a service name. Declared in precedence order: when two rules give
 * the same name, the earlier one claims it (Docker's own order for a reference: full ID, name,
 * short ID).
 */
public enum MembershipRule {
  /** The name is the container's full ID. */
  CONTAINER_ID,
  /** The name is the container's name. */
  CONTAINER_NAME,
  /** The name is the container's 12-character short ID. */
  SHORT_ID;

  /** The name this rule gives the container. */
  String nameOf(ContainerRecord container) {
    return switch (this) {
      case CONTAINER_ID -> container.id();
      case CONTAINER_NAME -> container.name();
      case SHORT_ID -> container.shortId();
    };
  }

  /** Whether the name stands for this one container rather than for a group. */
  public boolean namesOneContainer() {
    return true;
  }
}
