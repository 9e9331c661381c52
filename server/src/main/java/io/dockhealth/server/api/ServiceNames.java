package io.dockhealth.server.api;

import io.grpc.Status;

/** Checks a service name from a request before it is looked up. */
public final class ServiceNames {
  /**
   * Longer than any Docker name, ID or group name; a longer name is a client bug. The HTTP gateway
   * holds names to the same limit.
   */
  public static final int MAX_LENGTH = 512;

  private ServiceNames() {}

  /** INVALID_ARGUMENT saying what is wrong with the name, or null when it may be looked up. */
  public static Status validate(String name) {
    if (name.length() > MAX_LENGTH) {
      return Status.INVALID_ARGUMENT.withDescription(
          "service name is " + name.length() + " characters long (expected: at most " + MAX_LENGTH + ")");
    }
    return null;
  }
}
