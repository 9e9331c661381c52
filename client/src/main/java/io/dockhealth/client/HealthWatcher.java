package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import java.time.Clock;

/**
 * Turns the messages of one health Watch stream, across reconnects, into the changes a {@link
 * HealthListener} is promised: the status once, then only when it differs, and UNKNOWN while the
 * client has no stream (so a listener never keeps trusting a status nobody confirms any more).
 * Runs in the stream's synchronization context.
 */
final class HealthWatcher implements ReconnectingStream.Handler<HealthCheckResponse> {
  private final String service;
  private final HealthListener listener;
  private final Clock clock;
  private ServingStatus last; // null before the first update

  HealthWatcher(String service, HealthListener listener, Clock clock) {
    this.service = checkNotNull(service, "service");
    this.listener = checkNotNull(listener, "listener");
    this.clock = checkNotNull(clock, "clock");
  }

  @Override
  public void onMessage(HealthCheckResponse message) {
    ServingStatus status = message.getStatus();
    if (status == ServingStatus.UNRECOGNIZED) {
      // A newer server's status this client cannot name: it does not know what it means either.
      deliver(ServingStatus.UNKNOWN, "the server sent status number " + message.getStatusValue());
    } else {
      deliver(status, "");
    }
  }

  @Override
  public void onBroken(Status status) {
    deliver(ServingStatus.UNKNOWN, describe(status));
  }

  @Override
  public void onStopped(Status status) {
    listener.onStopped(status);
  }

  private void deliver(ServingStatus status, String error) {
    if (status == last) {
      return;
    }
    last = status;
    listener.onUpdate(new HealthUpdate(service, status, clock.instant(), error));
  }

  /** "UNAVAILABLE: io exception", the way grpc-java prints a status, without its cause's stack. */
  static String describe(Status status) {
    String description = status.getDescription();
    if (description == null && status.getCause() != null) {
      description = status.getCause().toString();
    }
    return description == null ? status.getCode().name() : status.getCode() + ": " + description;
  }
}
