package io.dockhealth.testing;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
import io.dockhealth.proto.health.v1.HealthListResponse;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A grpc.health.v1 server that a client's test drives by hand (the sidecar itself is a
 * {@link SidecarProcess}), in process, on a loopback TCP port or on a unix socket.
 *
 * <ul>
 *   <li>Check and List answer from the statuses the test {@link #set}; an unknown name is NOT_FOUND
 *       ({@code unknown service "x"}); Check of {@link #HANG} is never answered.
 *   <li>Watch sends the name's status at once ({@code SERVICE_UNKNOWN} for an unknown name) and then
 *       every {@link #set} of it; with {@link Builder#manualWatches()} it sends nothing by itself, and
 *       the test sends on the stream and ends it ({@link #lastWatch()}).
 *   <li>{@link Builder#withoutHealthService()}: no service at all, so every call is UNIMPLEMENTED, as
 *       from a gRPC server that does not offer health; such calls are counted.
 * </ul>
 *
 * <pre>{@code
 * try (FakeHealthServer server = FakeHealthServer.onLoopback().start()) {
 *   server.set("web", ServingStatus.SERVING);
 *   ... probe server.address() ...
 * }
 * }</pre>
 */
public final class FakeHealthServer implements AutoCloseable {
  /** The name whose Check is never answered, for deadlines. */
  public static final String HANG = "hang";

  private final Builder settings;
  private final Map<String, ServingStatus> statuses = new ConcurrentHashMap<>();
  private final List<Metadata> headers = new CopyOnWriteArrayList<>();
  private final List<StreamObserver<HealthCheckResponse>> watches = new CopyOnWriteArrayList<>();
  private final Map<String, List<StreamObserver<HealthCheckResponse>>> watchers = new ConcurrentHashMap<>();
  private final AtomicInteger unimplementedCalls = new AtomicInteger();
  private final String inProcessName = InProcessServerBuilder.generateName();
  private final EventLoopGroup eventLoop; // for a unix socket; null otherwise
  private final Server server;

  private FakeHealthServer(Builder settings) throws IOException {
    this.settings = settings;
    this.eventLoop = settings.socket == null ? null : new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    ServerBuilder<?> builder;
    if (settings.inProcess) {
      // Everything on the calling thread, so that a test sees each effect as soon as its call returns.
      builder = InProcessServerBuilder.forName(inProcessName).directExecutor();
    } else if (settings.socket != null) {
      builder = NettyServerBuilder.forAddress(UnixDomainSocketAddress.of(settings.socket))
          .channelType(NioServerDomainSocketChannel.class)
          .bossEventLoopGroup(eventLoop)
          .workerEventLoopGroup(eventLoop);
    } else {
      builder = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }
    if (settings.withHealthService) {
      builder.addService(ServerInterceptors.intercept(new Service(), new ServerInterceptor() {
        @Override
        public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
            Metadata requestHeaders, ServerCallHandler<ReqT, RespT> next) {
          headers.add(requestHeaders);
          return next.startCall(call, requestHeaders);
        }
      }));
    } else {
      builder.fallbackHandlerRegistry(new HandlerRegistry() {
        @Override
        public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
          unimplementedCalls.incrementAndGet();
          return null; // grpc-java answers UNIMPLEMENTED
        }
      });
    }
    try {
      this.server = builder.build().start();
    } catch (IOException | RuntimeException e) {
      if (eventLoop != null) {
        eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
      throw e;
    }
  }

  /** A server in this JVM, reached through {@link #channel()}; calls run on the caller's thread. */
  public static Builder inProcess() {
    return new Builder(true, null);
  }

  /** A server on a free port of 127.0.0.1 ({@link #address()}). */
  public static Builder onLoopback() {
    return new Builder(false, null);
  }

  /** A server on the unix socket {@code socket} (which must not exist yet). */
  public static Builder onUnixSocket(Path socket) {
    return new Builder(false, socket);
  }

  /** What kind of server to start. */
  public static final class Builder {
    private final boolean inProcess;
    private final Path socket;
    private boolean withHealthService = true;
    private boolean manualWatches;

    private Builder(boolean inProcess, Path socket) {
      this.inProcess = inProcess;
      this.socket = socket;
    }

    /** No service at all: every call is UNIMPLEMENTED, and counted ({@link #unimplementedCalls()}). */
    public Builder withoutHealthService() {
      this.withHealthService = false;
      return this;
    }

    /** Watch only records each stream; the test sends on it and ends it. */
    public Builder manualWatches() {
      this.manualWatches = true;
      return this;
    }

    public FakeHealthServer start() throws IOException {
      return new FakeHealthServer(this);
    }
  }

  /** Sets a name's status; unless watches are manual, its watchers get it. */
  public void set(String service, ServingStatus status) {
    statuses.put(service, status);
    if (!settings.manualWatches) {
      watchers.getOrDefault(service, List.of()).forEach(w -> w.onNext(response(status)));
    }
  }

  /** Forgets every status and the headers seen so far. */
  public void reset() {
    statuses.clear();
    headers.clear();
  }

  /** The headers of every call so far, oldest first. */
  public List<Metadata> headers() {
    return List.copyOf(headers);
  }

  /** Every Watch stream opened so far, oldest first. */
  public List<StreamObserver<HealthCheckResponse>> watches() {
    return List.copyOf(watches);
  }

  /** The newest Watch stream. */
  public StreamObserver<HealthCheckResponse> lastWatch() {
    return watches.get(watches.size() - 1);
  }

  /** Calls for methods the server lacks (without the health service: every call). */
  public int unimplementedCalls() {
    return unimplementedCalls.get();
  }

  /** Where a client dials it: {@code 127.0.0.1:port} or {@code unix:///path}. */
  public String address() {
    if (settings.inProcess) {
      throw new IllegalStateException("an in-process server has no address: use channel()");
    }
    return settings.socket != null ? "unix://" + settings.socket.toAbsolutePath() : "127.0.0.1:" + port();
  }

  /** The TCP port of a server {@link #onLoopback()}. */
  public int port() {
    return server.getPort();
  }

  /** A new plaintext channel to the server; the caller shuts it down. */
  public ManagedChannel channel() {
    if (settings.inProcess) {
      return InProcessChannelBuilder.forName(inProcessName).directExecutor().build();
    }
    if (settings.socket != null) {
      return NettyChannelBuilder.forAddress(UnixDomainSocketAddress.of(settings.socket))
          .channelType(NioDomainSocketChannel.class, UnixDomainSocketAddress.class)
          .eventLoopGroup(eventLoop)
          .usePlaintext()
          .build();
    }
    return NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), port()))
        .usePlaintext()
        .build();
  }

  /** A Watch or Check answer carrying {@code status}. */
  public static HealthCheckResponse response(ServingStatus status) {
    return HealthCheckResponse.newBuilder().setStatus(status).build();
  }

  /** Stops the server, ending every call, and waits (at most a few seconds) until it has. */
  @Override
  public void close() {
    try {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      if (eventLoop != null) {
        eventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends HealthGrpc.HealthImplBase {
    @Override
    public void check(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      if (request.getService().equals(HANG)) {
        return; // never answers
      }
      ServingStatus status = statuses.get(request.getService());
      if (status == null) {
        responseObserver.onError(Status.NOT_FOUND
            .withDescription("unknown service \"" + request.getService() + "\"").asRuntimeException());
        return;
      }
      responseObserver.onNext(response(status));
      responseObserver.onCompleted();
    }

    @Override
    public void list(HealthListRequest request, StreamObserver<HealthListResponse> responseObserver) {
      HealthListResponse.Builder response = HealthListResponse.newBuilder();
      statuses.forEach((service, status) -> response.putStatuses(service, response(status)));
      responseObserver.onNext(response.build());
      responseObserver.onCompleted();
    }

    @Override
    public void watch(HealthCheckRequest request, StreamObserver<HealthCheckResponse> responseObserver) {
      watches.add(responseObserver);
      if (!settings.manualWatches) {
        watchers.computeIfAbsent(request.getService(), s -> new CopyOnWriteArrayList<>()).add(responseObserver);
        responseObserver.onNext(response(statuses.getOrDefault(request.getService(), ServingStatus.SERVICE_UNKNOWN)));
      }
    }
  }
}
