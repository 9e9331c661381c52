package io.dockhealth.server.grpc;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.proto.health.v1.HealthListResponse;
import io.dockhealth.server.api.ProtoMapping;
import io.dockhealth.server.api.ServiceNames;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceEntry;
import io.dockhealth.server.model.Snapshot;
import io.dockhealth.server.model.SnapshotListener;
import com.google.common.net.HostAndPort;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * grpc.health.v1.Health over the registry's snapshots: Check and List read the newest snapshot,
 * Watch streams are told by the registry when a watched name changes.
 */
final class HealthService extends HealthGrpc.HealthImplBase implements SnapshotListener {
  /** gRFC A90: List answers at most this many names, a bigger answer is RESOURCE_EXHAUSTED. */
  static final int MAX_LIST_SIZE = 100;

  /** The request's :authority, set by {@link #authorityInterceptor()}. */
  private static final Context.Key<String> AUTHORITY = Context.key("dockhealth-authority");

  private final Registry registry;
  private final boolean serviceFromAuthority;
  private final OpenStreams streams;
  private final Map<String, Set<Watch>> watchesByName = new ConcurrentHashMap<>();

  HealthService(Registry registry, int maxWatchStreams, boolean serviceFromAuthority) {
    this.registry = registry;
    this.serviceFromAuthority = serviceFromAuthority;
    this.streams = new OpenStreams("Watch", maxWatchStreams, "--max-watch-streams");
  }

  /**
   * Makes each call's :authority visible to the service, for --service-from-authority; only then,
   * since a context per call costs every call.
   */
  static ServerInterceptor authorityInterceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        String authority = call.getAuthority();
        return authority == null
            ? next.startCall(call, headers)
            : Contexts.interceptCall(Context.current().withValue(AUTHORITY, authority), call, headers, next);
      }
    };
  }

  /**
   * The service a request is about. Envoy sets one service_name per cluster but can send a
   * per-endpoint :authority (health_check_config.hostname); so with --service-from-authority, ""
   * with an authority that is a known service name (port stripped) means that service. Any other
   * authority, such as the address a client dialled, leaves "" meaning the sidecar.
   */
  private String serviceOf(String requested, Snapshot snapshot) {
    if (!requested.isEmpty() || !serviceFromAuthority) {
      return requested;
    }
    String authority = AUTHORITY.get();
    if (authority == null) {
      return requested;
    }
    String host;
    try {
      host = HostAndPort.fromString(authority).getHost();
    } catch (IllegalArgumentException e) {
      return requested;
    }
    return snapshot.services().containsKey(host) ? host : requested;
  }

  @Override
  public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
    String name = request.getService();
    Status invalid = ServiceNames.validate(name);
    if (invalid != null) {
      responseObserver.onError(invalid.asRuntimeException());
      return;
    }
    Snapshot snapshot = registry.current();
    ServiceEntry entry = snapshot.services().get(serviceOf(name, snapshot));
    if (entry == null) {
      responseObserver.onError(
          Status.NOT_FOUND.withDescription("unknown service \"" + name + "\"").asRuntimeException());
      return;
    }
    responseObserver.onNext(ProtoMapping.response(ProtoMapping.toProto(entry.status())));
    responseObserver.onCompleted();
  }

  @Override
  public void list(HealthListRequest request, StreamObserver<HealthListResponse> responseObserver) {
    Snapshot snapshot = registry.current();
    if (snapshot.services().size() > MAX_LIST_SIZE) {
      responseObserver.onError(Status.RESOURCE_EXHAUSTED
          .withDescription(snapshot.services().size() + " services exceed List's limit of " + MAX_LIST_SIZE
              + " (gRFC A90); use Watch per service or dockhealth.v1.ContainerHealth/ListContainers")
          .asRuntimeException());
      return;
    }
    HealthListResponse.Builder response = HealthListResponse.newBuilder();
    for (ServiceEntry entry : snapshot.services().values()) {
      response.putStatuses(entry.name(), ProtoMapping.response(ProtoMapping.toProto(entry.status())));
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  @Override
  public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
    Status invalid = ServiceNames.validate(request.getService());
    if (invalid != null) {
      responseObserver.onError(invalid.asRuntimeException());
      return;
    }
    // The authority is read once: a Watch follows the service it started with.
    String name = serviceOf(request.getService(), registry.current());
    Status refused = streams.admit();
    if (refused != null) {
      responseObserver.onError(refused.asRuntimeException());
      return;
    }
    Watch watch = new Watch(name, (ServerCallStreamObserver<HealthCheckResponse>) responseObserver);
    watchesByName.compute(name, (n, watches) -> {
      Set<Watch> set = watches != null ? watches : ConcurrentHashMap.newKeySet();
      set.add(watch);
      return set;
    });
    streams.opened(watch.sender);
    // Read after subscribing: a change published in between reaches the watch either way, and
    // offers carry versions, so an older one never overwrites a newer.
    Snapshot snapshot = registry.current();
    watch.offer(snapshot.version(), snapshot.status(name).map(ProtoMapping::toProto)
        .orElse(HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN));
  }

  /** Open Watch streams, for metrics and tests. */
  int openWatches() {
    return streams.count();
  }

  /**
   * Ends every Watch stream with {@code status} (the server is shutting down) and refuses new ones
   * with it. A client that is not reading is not waited for.
   */
  void endStreams(Status status) {
    streams.endAll(status);
  }

  private void forget(Watch watch) {
    watchesByName.computeIfPresent(watch.name, (n, watches) -> {
      watches.remove(watch);
      return watches.isEmpty() ? null : watches;
    });
    streams.closed(watch.sender);
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    for (Map.Entry<String, Set<Watch>> entry : watchesByName.entrySet()) {
      String name = entry.getKey();
      if (Objects.equals(previous.status(name), current.status(name))) {
        continue;
      }
      HealthCheckResponse.ServingStatus status = current.status(name).map(ProtoMapping::toProto)
          .orElse(HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN);
      for (Watch watch : entry.getValue()) {
        watch.offer(current.version(), status);
      }
    }
  }

  /** A status as of a snapshot version. */
  private record Versioned(long version, HealthCheckResponse.ServingStatus status) {}

  /** One Watch stream: the newest status it should have, and the last one it was sent. */
  private final class Watch {
    private final String name;
    private final AtomicReference<Versioned> newest = new AtomicReference<>();
    private final LatestOnlySender<HealthCheckResponse> sender;
    private HealthCheckResponse.ServingStatus lastSent; // touched only while draining

    Watch(String name, ServerCallStreamObserver<HealthCheckResponse> observer) {
      this.name = name;
      this.sender = new LatestOnlySender<>(observer, this::nextMessage, () -> forget(this));
    }

    void offer(long version, HealthCheckResponse.ServingStatus status) {
      Versioned offered = new Versioned(version, status);
      newest.accumulateAndGet(offered, (held, given) ->
          held == null || given.version() >= held.version() ? given : held);
      sender.drain();
    }

    private HealthCheckResponse nextMessage() {
      Versioned status = newest.get();
      if (status == null || status.status() == lastSent) {
        return null;
      }
      lastSent = status.status();
      return ProtoMapping.response(lastSent);
    }
  }
}
