package io.dockhealth.client;

import io.dockhealth.proto.v1.WatchContainersResponse;
import io.grpc.Status;

/**
 * Receives what {@link DockhealthClient#watchContainers} learns. Calls come one at a time, never
 * concurrently, on a gRPC thread: return quickly.
 */
public interface ContainerListener {

  /**
   * Containers changed. The first message of every stream, and so the first after each reconnect,
   * has {@code reset} set and carries every container: replace what you knew.
   */
  void onUpdate(WatchContainersResponse update);

  /** The stream broke; what the listener knows may be stale until the next reset. Reconnecting. */
  void onDisconnected(Status status);

  /** The watch ended for good: the server lacks dockhealth.v1 ({@code UNIMPLEMENTED}). */
  void onStopped(Status status);
}
