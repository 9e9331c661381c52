package io.dockhealth.server.grpc;

import com.google.common.collect.ImmutableMap;
import io.dockhealth.proto.v1.Container;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.proto.v1.GetContainerRequest;
import io.dockhealth.proto.v1.GetServiceRequest;
import io.dockhealth.proto.v1.ListContainersRequest;
import io.dockhealth.proto.v1.ListContainersResponse;
import io.dockhealth.proto.v1.ListServicesRequest;
import io.dockhealth.proto.v1.ListServicesResponse;
import io.dockhealth.proto.v1.Service;
import io.dockhealth.proto.v1.WatchContainersRequest;
import io.dockhealth.proto.v1.WatchContainersResponse;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.api.ProtoMapping;
import io.dockhealth.server.api.ServiceNames;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceEntry;
import io.dockhealth.server.model.Snapshot;
import io.dockhealth.server.model.SnapshotListener;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * dockhealth.v1.ContainerHealth: the containers behind the health answers, in full (probe output
 * only if the exposure allows it). Not served at all with {@code --details=health}.
 *
 * <p>WatchContainers streams are counted under a limit of their own: each may keep the containers
 * it was last sent alive, so one costs more than a Watch stream. The containers of a snapshot are
 * rendered once for every stream, and a stream keeps a reference to what it was sent, not a copy.
 */
final class ContainerHealthService extends ContainerHealthGrpc.ContainerHealthImplBase
    implements SnapshotListener {
  private final Registry registry;
  private final Exposure exposure;
  private final OpenStreams streams;
  private final Set<ContainerWatch> watches = ConcurrentHashMap.newKeySet();

  /** The containers of the newest snapshot rendered so far, shared by every stream. */
  private final AtomicReference<Rendered> rendered = new AtomicReference<>(new Rendered(-1, false, ImmutableMap.of()));

  /** @param maxWatchStreams the most WatchContainers streams open at once */
  ContainerHealthService(Registry registry, int maxWatchStreams, Exposure exposure) {
    this.registry = registry;
    this.exposure = exposure;
    this.streams = new OpenStreams("WatchContainers", maxWatchStreams, "--max-watch-containers-streams");
  }

  @Override
  public void listContainers(ListContainersRequest request,
      StreamObserver<ListContainersResponse> responseObserver) {
    responseObserver.onNext(ProtoMapping.listContainers(registry.current(), exposure));
    responseObserver.onCompleted();
  }

  @Override
  public void getContainer(GetContainerRequest request, StreamObserver<Container> responseObserver) {
    Status invalid = ServiceNames.validate(request.getName());
    if (invalid != null) {
      responseObserver.onError(invalid.asRuntimeException());
      return;
    }
    Snapshot snapshot = registry.current();
    snapshot.container(request.getName()).ifPresentOrElse(
        container -> {
          responseObserver.onNext(ProtoMapping.toProto(container, snapshot, exposure));
          responseObserver.onCompleted();
        },
        () -> responseObserver.onError(Status.NOT_FOUND
            .withDescription("no container named \"" + request.getName() + "\" (expected: a name, full ID or 12-character ID)")
            .asRuntimeException()));
  }

  @Override
  public void getService(GetServiceRequest request, StreamObserver<Service> responseObserver) {
    Status invalid = ServiceNames.validate(request.getName());
    if (invalid != null) {
      responseObserver.onError(invalid.asRuntimeException());
      return;
    }
    Snapshot snapshot = registry.current();
    ServiceEntry entry = snapshot.services().get(request.getName());
    if (entry == null) {
      responseObserver.onError(Status.NOT_FOUND
          .withDescription("unknown service \"" + request.getName() + "\"").asRuntimeException());
      return;
    }
    responseObserver.onNext(ProtoMapping.toProto(entry, snapshot));
    responseObserver.onCompleted();
  }

  @Override
  public void listServices(ListServicesRequest request, StreamObserver<ListServicesResponse> responseObserver) {
    responseObserver.onNext(ProtoMapping.listServices(registry.current()));
    responseObserver.onCompleted();
  }

  @Override
  public void watchContainers(WatchContainersRequest request,
      StreamObserver<WatchContainersResponse> responseObserver) {
    Status refused = streams.admit();
    if (refused != null) {
      responseObserver.onError(refused.asRuntimeException());
      return;
    }
    ContainerWatch watch = new ContainerWatch((ServerCallStreamObserver<WatchContainersResponse>) responseObserver);
    watches.add(watch);
    streams.opened(watch);
    watch.drain();
  }

  /** Open WatchContainers streams, for metrics and tests. */
  int openWatches() {
    return streams.count();
  }

  /** Ends every WatchContainers stream with {@code status} and refuses new ones with it. */
  void endStreams(Status status) {
    streams.endAll(status, watches);
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    for (ContainerWatch watch : watches) {
      watch.drain();
    }
  }

  /** Every container of a snapshot as sent to clients, by ID, ordered by name; once per version. */
  private Rendered render(Snapshot snapshot) {
    Rendered cached = rendered.get();
    if (cached.version() == snapshot.version()) {
      return cached;
    }
    ImmutableMap.Builder<String, Container> containers = ImmutableMap.builder();
    ProtoMapping.listContainers(snapshot, exposure).getContainersList().forEach(c -> containers.put(c.getId(), c));
    Rendered fresh = new Rendered(snapshot.version(), snapshot.inSync(), containers.buildOrThrow());
    // Streams draining at once may render the same version twice; the newest version stays.
    rendered.accumulateAndGet(fresh, (held, given) -> given.version() > held.version() ? given : held);
    return fresh;
  }

  /** The containers of one snapshot version as sent to clients, by ID, and whether it was in sync. */
  private record Rendered(long version, boolean inSync, ImmutableMap<String, Container> containers) {}

  /** One WatchContainers stream: what it has been sent, and the message that brings it up to date. */
  private final class ContainerWatch extends LatestOnlySender<WatchContainersResponse> {
    private Rendered sent; // touched only while draining

    ContainerWatch(ServerCallStreamObserver<WatchContainersResponse> observer) {
      super(observer);
    }

    @Override
    protected void done() {
      watches.remove(this);
      streams.closed();
    }

    @Override
    protected WatchContainersResponse nextMessage() {
      Rendered now = render(registry.current());
      if (sent != null && now.version() == sent.version()) {
        return null;
      }
      WatchContainersResponse.Builder message = WatchContainersResponse.newBuilder()
          .setVersion(now.version())
          .setInSync(now.inSync());
      if (sent == null) {
        message.setReset(true).addAllChanged(now.containers().values());
      } else {
        for (Container container : now.containers().values()) {
          if (!container.equals(sent.containers().get(container.getId()))) {
            message.addChanged(container);
          }
        }
        for (String id : sent.containers().keySet()) {
          if (!now.containers().containsKey(id)) {
            message.addRemovedIds(id);
          }
        }
      }
      sent = now;
      return message.build();
    }
  }
}
