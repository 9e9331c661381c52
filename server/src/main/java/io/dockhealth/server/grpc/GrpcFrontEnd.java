package io.dockhealth.server.grpc;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.util.concurrent.AbstractIdleService;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.net.ServerTls;
import io.dockhealth.server.net.UnixSocketFile;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.ProtoReflectionService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC server: grpc.health.v1.Health, dockhealth.v1.ContainerHealth (unless the exposure is
 * health only) and server reflection (v1 and v1alpha, for grpcurl), on one listener: TCP, with TLS
 * if configured, or a unix socket.
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
  private final EventLoopGroup boss; // a unix socket's; TCP uses grpc's shared loops
  private final EventLoopGroup workers;
  private final Server server;

  /**
   * @param maxWatchStreams the most grpc.health.v1 Watch streams open at once
   * @param maxWatchContainersStreams the most dockhealth.v1 WatchContainers streams open at once
   * @param exposure whether dockhealth.v1 is served, and with probe output or not
   * @param metrics counts every call by method and status code
   */
  public GrpcFrontEnd(ListenerSpec listener, Registry registry, int maxWatchStreams, int maxWatchContainersStreams,
      boolean serviceFromAuthority, Exposure exposure, Metrics metrics) {
    this.listener = checkNotNull(listener, "listener");
    this.registry = checkNotNull(registry, "registry");
    this.health = new HealthService(registry, maxWatchStreams, serviceFromAuthority);
    this.containers = exposure.containerDetail()
        ? new ContainerHealthService(registry, maxWatchContainersStreams, exposure)
        : null;
    this.socketFile = listener.socketFile().orElse(null);
    NettyServerBuilder builder;
    if (socketFile != null) {
      // NIO speaks unix sockets since JDK 16: no native transport, the same on every CPU.
      boss = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("dockhealth-grpc-accept", true),
          NioIoHandler.newFactory());
      workers = new MultiThreadIoEventLoopGroup(0, new DefaultThreadFactory("dockhealth-grpc", true),
          NioIoHandler.newFactory());
      builder = NettyServerBuilder.forAddress(socketFile.bindAddress())
          .channelType(NioServerDomainSocketChannel.class)
          .bossEventLoopGroup(boss)
          .workerEventLoopGroup(workers)
          // grpc sets SO_KEEPALIVE on every connection, which a unix socket does not have: Netty would
          // warn once per connection. A null value takes the option off.
          .withChildOption(ChannelOption.SO_KEEPALIVE, null);
    } else {
      boss = null;
      workers = null;
      builder = NettyServerBuilder.forAddress(((ListenAddress.Tcp) listener.address()).address());
    }
    if (listener.tls().isPresent()) {
      builder.sslContext(grpcContext(listener.tls().get()));
    }
    builder
        // Every handler only reads an immutable snapshot and never blocks, so it runs on the
        // transport thread without a hop to an executor.
        .directExecutor()
        .addService(ServerInterceptors.intercept(MalformedRequests.rejected(health),
            HealthService.authorityInterceptor()));
    if (containers != null) {
      builder.addService(MalformedRequests.rejected(containers));
    } else {
      builder.fallbackHandlerRegistry(new ContainerDetailOff());
    }
    this.server = builder
        .addService(ProtoReflectionServiceV1.newInstance())
        .addService(ProtoReflectionService.newInstance())
        .intercept(new MetricsInterceptor(checkNotNull(metrics, "metrics")))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        // Watch streams live for hours and are mostly silent: ping to find dead peers behind NAT
        // or a crashed balancer, and let clients ping us (Envoy and grpc clients do, every 10 s
        // or more) without being told they ping too often.
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .build();
  }

  private static io.netty.handler.ssl.SslContext grpcContext(ServerTls tls) {
    try {
      return tls.context(GrpcSslContexts::configure);
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS for gRPC: " + e.getMessage(), e);
    }
  }

  @Override
  protected void startUp() throws Exception {
    registry.addListener(health);
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
    if (socketFile != null) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
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
