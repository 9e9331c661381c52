package io.dockhealth.bench;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * One grpc.health.v1 Watch stream of the soak run: every status it receives, in order. A steady
 * watcher reads everything as it comes; a slow one reads only when {@link #read} tells it to.
 */
final class SoakWatch {
  final String name;
  private final List<ServingStatus> statuses = new CopyOnWriteArrayList<>();
  private final ClientCall<HealthCheckRequest, HealthCheckResponse> call;
  private volatile Status end;

  private SoakWatch(ManagedChannel channel, String name) {
    this.name = name;
    call = channel.newCall(HealthGrpc.getWatchMethod(), CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(HealthCheckResponse message) {
        statuses.add(message.getStatus());
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        end = status;
      }
    }, new Metadata());
    call.sendMessage(HealthCheckRequest.newBuilder().setService(name).build());
    call.halfClose();
  }

  /** A watcher that reads every status as it comes. */
  static SoakWatch steady(ManagedChannel channel, String name) {
    SoakWatch watch = new SoakWatch(channel, name);
    watch.read(Integer.MAX_VALUE);
    return watch;
  }

  /** A watcher that has read only its first status and reads more only when told to. */
  static SoakWatch slow(ManagedChannel channel, String name) {
    SoakWatch watch = new SoakWatch(channel, name);
    watch.read(1);
    return watch;
  }

  void read(int messages) {
    call.request(messages);
  }

  List<ServingStatus> statuses() {
    return List.copyOf(statuses);
  }

  /** The newest status received, or null before the first. */
  ServingStatus last() {
    List<ServingStatus> copy = statuses();
    return copy.isEmpty() ? null : copy.get(copy.size() - 1);
  }

  /** How the stream ended; null while it is open. */
  Status end() {
    return end;
  }

  void cancel() {
    call.cancel("soak over", null);
  }

  /**
   * How one watcher's statuses compare with the changes the soak made to its name.
   *
   * @param driven status changes the soak caused after the watcher's first status
   * @param seen changes the watcher received after its first status
   * @param lost changes caused but never received ({@code driven - seen}, when positive)
   * @param spurious changes received that were not caused ({@code seen - driven}, when positive)
   * @param outOfOrder a status received twice in a row (a change out of its place), plus one if
   *     the watcher does not end on the true status
   */
  record Account(int driven, int seen, int lost, int spurious, int outOfOrder) {
    static Account of(List<ServingStatus> statuses, int driven, ServingStatus truth) {
      int seen = Math.max(0, statuses.size() - 1);
      int outOfOrder = 0;
      for (int i = 1; i < statuses.size(); i++) {
        if (statuses.get(i) == statuses.get(i - 1)) {
          outOfOrder++;
        }
      }
      if (statuses.isEmpty() || statuses.get(statuses.size() - 1) != truth) {
        outOfOrder++;
      }
      return new Account(driven, seen, Math.max(0, driven - seen), Math.max(0, seen - driven), outOfOrder);
    }

    Account plus(Account other) {
      return new Account(driven + other.driven, seen + other.seen, lost + other.lost, spurious + other.spurious,
          outOfOrder + other.outOfOrder);
    }
  }
}
