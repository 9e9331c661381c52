package io.dockhealth.server.model;

import java.util.Collection;
import java.util.Optional;
import java.util.Set;

/** The writer's side of the model: what the Docker source tells it. */
public interface ContainerModel {
  /** The container with this full ID as last put, if any. */
  Optional<ContainerRecord> get(String id);

  /**
   * The complete set of containers, freshly read from a connected Docker engine: the model is in
   * sync from now on.
   */
  default void replaceAll(Collection<ContainerRecord> containers) {
    replaceAll(containers, Set.of());
  }

  /**
   * Like {@link #replaceAll(Collection)}, when Docker erred about some of the containers.
   *
   * @param stale the IDs of containers Docker listed but could not describe this time: each is
   *     among {@code containers} at its last known record and is marked stale as by {@link
   *     #markStale}
   */
  void replaceAll(Collection<ContainerRecord> containers, Set<String> stale);

  /** A new or changed container, as Docker has just described it: no longer stale. */
  void put(ContainerRecord container);

  /**
   * What an event alone says about a container, applied before Docker describes it again: a stale
   * container stays stale, since only a description from Docker confirms it.
   */
  void putFromEvent(ContainerRecord container);

  /**
   * Docker erred about this one container (an error answer, or one that cannot be used): it keeps
   * its last known record, marked stale, and its last status for the stale grace, then turns
   * NOT_SERVING, until it is {@link #put} again. A container already stale keeps the time it went
   * stale; an unknown ID is ignored.
   */
  void markStale(String id);

  /** A container that no longer exists. */
  void remove(String id);

  /** Docker cannot be reached: the model is out of sync until the next {@link #replaceAll}. */
  void dockerDisconnected();
}
