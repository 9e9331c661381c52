package io.dockhealth.client;

import io.grpc.Status;

/**
 * Receives what a {@link DockhealthClient#watch Watch} learns. Calls come one at a time, never
 * concurrently, on a gRPC thread: return quickly.
 */
public interface HealthListener {

  /**
   * The service's status changed: the first call carries the status at the time the watch starts,
   * later calls only differences from the previous call, never the same status twice in a row.
   */
  void onUpdate(HealthUpdate update);

  /**
   * The watch ended for good and will not reconnect: the server does not implement the health
   * protocol ({@code UNIMPLEMENTED}, gRFC A17). Not called when the watch is closed.
   */
  void onStopped(Status status);
}
