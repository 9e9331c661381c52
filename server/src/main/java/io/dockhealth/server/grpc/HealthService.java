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
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;

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
  private final Map<String, Watchers> watchersByName = new ConcurrentHashMap<>();

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
    // The stream joins its name's watchers under the map's lock for the name, so that the last
    // stream of the name leaving cannot drop them while this one joins.
    Watch[] joined = new Watch[1];
    watchersByName.compute(name, (n, held) -> {
      Watchers watchers = held != null ? held : new Watchers(n);
      joined[0] = watchers.join((ServerCallStreamObserver<HealthCheckResponse>) responseObserver);
      return watchers;
    });
    Watch watch = joined[0];
    streams.opened(watch);
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
    streams.endAll(status, watchersByName.values().stream().flatMap(w -> Arrays.stream(w.all())).toList());
  }

  @Override
  public void onSnapshot(Snapshot previous, Snapshot current) {
    if (previous.services() == current.services()) {
      return; // the same names with the same answers (a container turned stale or fresh, say)
    }
    for (Watchers watchers : watchersByName.values()) {
      String name = watchers.name;
      if (Objects.equals(previous.status(name), current.status(name))) {
        continue;
      }
      HealthCheckResponse.ServingStatus status = current.status(name).map(ProtoMapping::toProto)
          .orElse(HealthCheckResponse.ServingStatus.SERVICE_UNKNOWN);
      for (Watch watch : watchers.all()) {
        watch.offer(current.version(), status);
      }
    }
  }

  /**
   * The Watch streams of one name. Each stream knows its slot, so leaving is as cheap as joining,
   * and a stream costs a slot rather than a node: Watch streams are idle by the hundred thousand.
   */
  private final class Watchers {
    final String name;
    @GuardedBy("this")
    private Watch[] watches = new Watch[2];
    @GuardedBy("this")
    private int size;

    Watchers(String name) {
      this.name = name;
    }

    /** A new stream of the name; call while the stream is being started. */
    synchronized Watch join(ServerCallStreamObserver<HealthCheckResponse> observer) {
      Watch watch = new Watch(observer, this);
      if (size == watches.length) {
        watches = Arrays.copyOf(watches, size * 2);
      }
      watch.slot = size;
      watches[size++] = watch;
      return watch;
    }

    /** @return whether none is left */
    private synchronized boolean remove(Watch watch) {
      Watch last = watches[--size];
      watches[watch.slot] = last;
      last.slot = watch.slot;
      watches[size] = null;
      if (size > 0 && size <= watches.length / 4) {
        watches = Arrays.copyOf(watches, watches.length / 2);
      }
      return size == 0;
    }

    /** A stream is over: it leaves, and the name's watchers go with the last one. */
    void leave(Watch watch) {
      watchersByName.computeIfPresent(name, (n, held) -> remove(watch) ? null : held);
      streams.closed();
    }

    /** The streams now, to be told outside the lock. */
    synchronized Watch[] all() {
      return Arrays.copyOf(watches, size);
    }
  }

  /**
   * One Watch stream: the newest status it should have, and the last one it was sent. The newest
   * is kept as one long, the snapshot version times four plus the status's number (0 to 3), so
   * that it is replaced atomically without an object per offer or per stream.
   */
  private static final class Watch extends LatestOnlySender<HealthCheckResponse> {
    private static final AtomicLongFieldUpdater<Watch> NEWEST =
        AtomicLongFieldUpdater.newUpdater(Watch.class, "newest");

    private volatile long newest = -1; // none yet
    private HealthCheckResponse.ServingStatus lastSent; // touched only while draining
    /** The name's watchers, which hold the name (not each stream). */
    private final Watchers watchers;
    private int slot; // guarded by watchers

    Watch(ServerCallStreamObserver<HealthCheckResponse> observer, Watchers watchers) {
      super(observer);
      this.watchers = watchers;
    }

    void offer(long version, HealthCheckResponse.ServingStatus status) {
      long offered = version * 4 + status.getNumber();
      NEWEST.accumulateAndGet(this, offered, (held, given) -> given / 4 >= held / 4 ? given : held);
      drain();
    }

    @Override
    protected HealthCheckResponse nextMessage() {
      long held = newest;
      HealthCheckResponse.ServingStatus status =
          held < 0 ? null : HealthCheckResponse.ServingStatus.forNumber((int) (held % 4));
      if (status == null || status == lastSent) {
        return null;
      }
      lastSent = status;
      return ProtoMapping.response(status);
    }

    @Override
    protected void done() {
      watchers.leave(this);
    }
  }
}
