package io.dockhealth.server.model;

import java.util.Collection;
import java.util.Optional;

/** The writer's side of the model: what the Docker source tells it. */
public interface ContainerModel {
  /** The container with this full ID as last put, if any. */
  Optional<ContainerRecord> get(String id);

  /**
   * The complete set of containers, freshly read from a connected Docker engine: the model is in
   * sync from now on.
   */
  void replaceAll(Collection<ContainerRecord> containers);

  /** A new or changed container. */
  void put(ContainerRecord container);

  /** A container that no longer exists. */
  void remove(String id);

  /** Docker cannot be reached: the model is out of sync until the next {@link #replaceAll}. */
  void dockerDisconnected();
}
