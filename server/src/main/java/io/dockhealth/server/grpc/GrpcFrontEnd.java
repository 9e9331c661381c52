package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Ticker;
import com.google.common.util.concurrent.AbstractIdleService;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.v1.ContainerHealthGrpc;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.logging.ClientFaults;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.net.ConnectionCap;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.net.ServerTls;
import io.dockhealth.server.net.UnixSocketFile;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server: grpc.health.v1.Health, dockhealth.v1.ContainerHealth (unless the exposure is
 * health only) and server reflection (v1 and v1alpha, for grpcurl), on one listener: TCP, with TLS
 * if configured, or a unix socket; within {@link GrpcLimits} either way.
 */
public final class GrpcFrontEnd extends AbstractIdleService {
  private static final Logger logger = LoggerFactory.getLogger(GrpcFrontEnd.class);

  /** Requests are a service name at most; anything bigger is refused before it is parsed. */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024;

  /**
   * How long streams ended on shutdown may take to send their status. A client that does not read
   * keeps its stream's status waiting behind what it has not read; after this it is cut.
   */
  private static final Duration STREAM_END_GRACE = Duration.ofSeconds(2);

  private final ListenerSpec listener;
  private final Registry registry;
  private final HealthService health;
  private final ContainerHealthService containers; // null when container detail is off
  private final UnixSocketFile socketFile; // null for TCP
  private final ConnectionCap cap;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Server server;

  /**
   * @param maxWatchStreams the most grpc.health.v1 Watch streams open at once
   * @param maxWatchContainersStreams the most dockhealth.v1 WatchContainers streams open at once
   * @param exposure whether dockhealth.v1 is served, and with probe output or not
   * @param limits connections, calls and Watch streams per connection, handshake and idle times
   * @param metrics counts every call by method and status code, the messages sent, and the connections
   */
  public GrpcFrontEnd(ListenerSpec listener, Registry registry, int maxWatchStreams, int maxWatchContainersStreams,
      boolean serviceFromAuthority, Exposure exposure, GrpcLimits limits, Metrics metrics) {
    this.listener = checkNotNull(listener, "listener");
    this.registry = checkNotNull(registry, "registry");
    checkNotNull(limits, "limits");
    checkNotNull(metrics, "metrics");
    this.health = new HealthService(registry, maxWatchStreams, serviceFromAuthority);
    this.containers = exposure.containerDetail()
        ? new ContainerHealthService(registry, maxWatchContainersStreams, exposure)
        : null;
    this.socketFile = listener.socketFile().orElse(null);
    ClientFaults faults = new ClientFaults(logger, Ticker.systemTicker());
    List<ServerServiceDefinition> services = new ArrayList<>();
    ServerServiceDefinition healthService = MalformedRequests.rejected(health, faults);
    services.add(serviceFromAuthority
        ? ServerInterceptors.intercept(healthService, HealthService.authorityInterceptor())
        : healthService);
    if (containers != null) {
      services.add(MalformedRequests.rejected(containers, faults));
    }
    services.add(MalformedRequests.rejected(ProtoReflectionServiceV1.newInstance(), faults));
    services.add(MalformedRequests.rejected(ProtoReflectionService.newInstance(), faults));
    // dockhealth.v1's methods keep their label when container detail is off: ContainerDetailOff answers them.
    Set<String> methods = Stream.concat(
            services.stream().flatMap(service -> service.getMethods().stream()).map(m -> m.getMethodDescriptor()),
            ContainerHealthGrpc.getServiceDescriptor().getMethods().stream())
        .map(method -> method.getFullMethodName())
        .collect(Collectors.toUnmodifiableSet());
    this.cap = ConnectionCap.forTransport(limits.maxConnections(), GrpcFrontEnd::closeAtTheSocket);
    GrpcConnections connections = new GrpcConnections(cap, limits.maxWatchesPerConnection(), Set.of(
        HealthGrpc.getWatchMethod().getFullMethodName(),
        ContainerHealthGrpc.getWatchContainersMethod().getFullMethodName()));
    SslContext tls = listener.tls().map(GrpcFrontEnd::grpcContext).orElse(null); // before any thread is made
    // Our own listening channel on either kind of listener, to put the connection cap in front of
    // grpc-java's acceptor; its event loops must then be ours too. NIO speaks unix sockets since
    // JDK 16: no native transport, the same on every CPU.
    this.boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("dockhealth-grpc-accept", true),
        NioIoHandler.newFactory());
    this.workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("dockhealth-grpc", true),
        NioIoHandler.newFactory());
    NettyServerBuilder builder;
    if (socketFile != null) {
      builder = NettyServerBuilder.forAddress(socketFile.bindAddress())
          .channelFactory(cap.wrap(NioServerDomainSocketChannel::new))
          // grpc sets SO_KEEPALIVE on every connection, which a unix socket does not have: Netty would
          // warn once per connection. A null value takes the option off.
          .withChildOption(ChannelOption.SO_KEEPALIVE, null);
    } else {
      builder = NettyServerBuilder.forAddress(((ListenAddress.Tcp) listener.address()).address())
          .channelFactory(cap.wrap(NioServerSocketChannel::new));
    }
    if (tls != null) {
      builder.sslContext(tls);
    }
    if (containers == null) {
      builder.fallbackHandlerRegistry(new ContainerDetailOff());
    }
    builder
        .bossEventLoopGroup(boss)
        .workerEventLoopGroup(workers)
        // Every handler only reads an immutable snapshot and never blocks, so it runs on the
        // transport thread without a hop to an executor.
        .directExecutor()
        .addTransportFilter(connections)
        .intercept(connections)
        .addStreamTracerFactory(new CallMetrics(metrics, methods))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .maxConcurrentCallsPerConnection(limits.maxCallsPerConnection())
        // A connection that never finishes its handshake (TLS, then HTTP/2's preface and settings)
        // is closed, as a slow HTTP head is.
        .handshakeTimeout(limits.handshakeTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .maxConnectionIdle(limits.maxConnectionIdle().toNanos(), TimeUnit.NANOSECONDS)
        // No maximum connection age: Watch streams are meant to live for hours, and a per-host
        // sidecar has no pool of servers to rebalance clients across.
        // Watch streams are mostly silent: ping to find dead peers behind NAT or a crashed
        // balancer, and let clients ping us (Envoy and grpc clients do, every 10 s or more)
        // without being told they ping too often.
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true);
    services.forEach(builder::addService);
    this.server = builder.build();
    metrics.grpcConnections(cap::open);
    metrics.connectionCap("grpc", cap::refused, cap::evicted);
  }

  private static SslContext grpcContext(ServerTls tls) {
    try {
      return tls.context(GrpcSslContexts::configure);
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS for gRPC: " + e.getMessage(), e);
    }
  }

  /**
   * Closes a reclaimed connection outright: it has no call open. Below grpc-java's handler, whose
   * close is a graceful GOAWAY and ping that waits up to 10 s for a client that never answers (a
   * silent one), holding the descriptor all along.
   */
  private static void closeAtTheSocket(Channel connection) {
    ChannelHandlerContext first = connection.pipeline().firstContext();
    if (first != null) {
      first.close();
    } else {
      connection.close();
    }
  }

  @Override
  protected void startUp() throws Exception {
    registry.addHealthListener(health);
    if (containers != null) {
      registry.addListener(containers);
    }
    try {
      if (socketFile != null) {
        socketFile.prepare();
      }
      server.start();
      if (socketFile != null) {
        socketFile.publish();
      }
    } catch (IOException | RuntimeException e) {
      removeSocketFile();
      server.shutdownNow();
      afterTermination();
      throw e;
    }
    logger.info("gRPC listening on {}", listener.describe(listenAddress()));
  }

  /**
   * Stops taking calls (a GOAWAY tells clients to go elsewhere or wait for our successor), then ends
   * every open stream with UNAVAILABLE, a status clients retry, rather than resetting it, which
   * they read as CANCELLED ("I cancelled"). Streams whose clients do not read are cut after
   * {@link #STREAM_END_GRACE}.
   */
  @Override
  protected void shutDown() throws Exception {
    removeSocketFile();
    server.shutdown();
    health.endStreams(OpenStreams.SHUTTING_DOWN);
    if (containers != null) {
      containers.endStreams(OpenStreams.SHUTTING_DOWN);
    }
    if (!server.awaitTermination(STREAM_END_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    afterTermination();
  }

  private void afterTermination() {
    registry.removeListener(health);
    if (containers != null) {
      registry.removeListener(containers);
    }
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  /** While the listener is still open: see {@link UnixSocketFile#remove()}. */
  private void removeSocketFile() {
    if (socketFile != null) {
      socketFile.remove();
    }
  }

  /** Where the server listens; the real port when it was asked for port 0. */
  public ListenAddress listenAddress() {
    return socketFile != null ? listener.address() : new ListenAddress.Tcp(address());
  }

  /**
   * The TCP address the server listens on; the real port when it was asked for port 0.
   *
   * @throws IllegalStateException if it listens on a unix socket
   */
  public InetSocketAddress address() {
    if (socketFile != null) {
      throw new IllegalStateException("gRPC listens on " + listener.address() + ", not on TCP");
    }
    return (InetSocketAddress) server.getListenSockets().get(0);
  }

  /** Watch streams open now. */
  public int openWatches() {
    return health.openWatches();
  }

  /** WatchContainers streams open now. */
  public int openContainerWatches() {
    return containers == null ? 0 : containers.openWatches();
  }
}
