package io.dockhealth.client;

import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps what a watch delivers. */
final class RecordingListener implements HealthListener {
  final List<HealthUpdate> updates = new CopyOnWriteArrayList<>();
  final List<Status> stops = new CopyOnWriteArrayList<>();
  private volatile boolean throwing;

  /** From now on, record each update and then throw, as a buggy listener would. */
  void throwOnUpdate() {
    throwing = true;
  }

  List<ServingStatus> statuses() {
    return updates.stream().map(HealthUpdate::status).toList();
  }

  @Override
  public void onUpdate(HealthUpdate update) {
    updates.add(update);
    if (throwing) {
      throw new IllegalStateException("a listener bug");
    }
  }

  @Override
  public void onStopped(Status status) {
    stops.add(status);
  }
}
