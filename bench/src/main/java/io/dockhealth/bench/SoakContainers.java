package io.dockhealth.bench;

import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One dockhealth.v1 WatchContainers stream of the soak run and the view of the containers it
 * builds from the messages, as a client would. Reads everything, or only when told to.
 */
final class SoakContainers {
  private final ClientCall<WatchContainersRequest, WatchContainersResponse> call;
  private final Map<String, Container> view = new HashMap<>(); // guarded by this
  private final AtomicInteger messages = new AtomicInteger();
  private volatile long version = -1;
  private volatile Status end;

  private SoakContainers(ManagedChannel channel) {
    call = channel.newCall(ContainerHealthGrpc.getWatchContainersMethod(), CallOptions.DEFAULT);
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(WatchContainersResponse message) {
        synchronized (SoakContainers.this) {
          if (message.getReset()) {
            view.clear();
          }
          message.getChangedList().forEach(c -> view.put(c.getId(), c));
          message.getRemovedIdsList().forEach(view::remove);
        }
        version = message.getVersion();
        messages.incrementAndGet();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        end = status;
      }
    }, new Metadata());
    call.sendMessage(WatchContainersRequest.getDefaultInstance());
    call.halfClose();
  }

  static SoakContainers steady(ManagedChannel channel) {
    SoakContainers watch = new SoakContainers(channel);
    watch.read(Integer.MAX_VALUE);
    return watch;
  }

  static SoakContainers slow(ManagedChannel channel) {
    SoakContainers watch = new SoakContainers(channel);
    watch.read(1);
    return watch;
  }

  void read(int count) {
    call.request(count);
  }

  int messages() {
    return messages.get();
  }

  /** The model version of the newest message, -1 before the first. */
  long version() {
    return version;
  }

  synchronized Map<String, Container> view() {
    return Map.copyOf(view);
  }

  Status end() {
    return end;
  }

  void cancel() {
    call.cancel("soak over", null);
  }
}
