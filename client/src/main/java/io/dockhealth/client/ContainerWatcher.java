package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkNotNull;

import io.dockhealth.proto.v1.WatchContainersResponse;
import io.grpc.Status;

/** Hands the messages of a WatchContainers stream, across reconnects, to a {@link ContainerListener}. */
final class ContainerWatcher implements ReconnectingStream.Handler<WatchContainersResponse> {
  private final ContainerListener listener;

  ContainerWatcher(ContainerListener listener) {
    this.listener = checkNotNull(listener, "listener");
  }

  @Override
  public void onMessage(WatchContainersResponse message) {
    // No folding here: the server sends only changes, and a new stream starts with reset=true.
    listener.onUpdate(message);
  }

  @Override
  public void onBroken(Status status) {
    listener.onDisconnected(status);
  }

  @Override
  public void onStopped(Status status) {
    listener.onStopped(status);
  }
}
