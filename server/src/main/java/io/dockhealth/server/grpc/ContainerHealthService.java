package io.dockhealth.server.grpc;

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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * dockhealth.v1.ContainerHealth: the containers behind the health answers, in full (probe output
 * only if the exposure allows it). Not served at all with {@code --details=health}.
 */
final class ContainerHealthService extends ContainerHealthGrpc.ContainerHealthImplBase
    implements SnapshotListener {
  private final Registry registry;
  private final Exposure exposure;
  private final Set<LatestOnlySender<WatchContainersResponse>> watches = ConcurrentHashMap.newKeySet();

  ContainerHealthService(Registry registry, Exposure exposure) {
    this.registry = registry;
    this.exposure = exposure;
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
    ServerCallStreamObserver<WatchContainersResponse> observer =
        (ServerCallStreamObserver<WatchContainersResponse>) responseObserver;
    ContainerDiff diff = new ContainerDiff(exposure);
    LatestOnlySender<WatchContainersResponse> sender =
        new LatestOnlySender<>(observer, () -> diff.next(registry.current()));
    observer.setOnCancelHandler(() -> watches.remove(sender));
    watches.add(sender);
    sender.drain();
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    for (LatestOnlySender<WatchContainersResponse> sender : watches) {
      sender.drain();
    }
  }

  /** Every container of a snapshot as sent to clients, by ID, ordered by name. */
  private static Map<String, Container> containers(Snapshot snapshot, Exposure exposure) {
    Map<String, Container> containers = new LinkedHashMap<>();
    ProtoMapping.listContainers(snapshot, exposure).getContainersList().forEach(c -> containers.put(c.getId(), c));
    return containers;
  }

  /** What one WatchContainers client has been sent, and the message that brings it up to date. */
  private static final class ContainerDiff {
    private final Exposure exposure;
    private long sentVersion = -1;
    private Map<String, Container> sent;

    ContainerDiff(Exposure exposure) {
      this.exposure = exposure;
    }

    WatchContainersResponse next(Snapshot snapshot) {
      if (snapshot.version() == sentVersion) {
        return null;
      }
      Map<String, Container> now = containers(snapshot, exposure);
      WatchContainersResponse.Builder message = WatchContainersResponse.newBuilder()
          .setVersion(snapshot.version())
          .setInSync(snapshot.inSync());
      if (sent == null) {
        message.setReset(true).addAllChanged(now.values());
      } else {
        for (Container container : now.values()) {
          if (!container.equals(sent.get(container.getId()))) {
            message.addChanged(container);
          }
        }
        for (String id : sent.keySet()) {
          if (!now.containsKey(id)) {
            message.addRemovedIds(id);
          }
        }
      }
      sentVersion = snapshot.version();
      sent = now;
      return message.build();
    }
  }
}
