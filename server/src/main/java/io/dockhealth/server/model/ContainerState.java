package io.dockhealth.server.model;

import java.util.Locale;

/** A container's lifecycle state, as Docker reports it in {@code State.Status}. */
public enum ContainerState {
  CREATED,
  RUNNING,
  PAUSED,
  RESTARTING,
  REMOVING,
  EXITED,
  DEAD,
  /** Docker reported something this version of dockhealth does not know. */
  UNKNOWN;

  /** Maps Docker's lower-case state name; anything unexpected is {@link #UNKNOWN}. */
  public static ContainerState fromDocker(String status) {
    if (status == null) {
      return UNKNOWN;
    }
    try {
      ContainerState state = valueOf(status.toUpperCase(Locale.ROOT));
      return state == UNKNOWN ? UNKNOWN : state;
    } catch (IllegalArgumentException e) {
      return UNKNOWN;
    }
  }
}
