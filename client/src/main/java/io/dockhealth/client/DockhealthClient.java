package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.base.Ticker;
import com.google.common.collect.ImmutableSortedMap;
import com.google.common.net.InetAddresses;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.proto.health.v1.HealthListRequest;
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
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ConnectivityState;
import io.grpc.Deadline;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.UnaryOperator;

/**
 * A client of the dockhealth sidecar (or of any server of the gRPC health protocol): Check, List
 * and a Watch that survives reconnects, plus the dockhealth.v1 calls.
 *
 * <pre>{@code
 * try (DockhealthClient client = DockhealthClient.newBuilder("127.0.0.1:4245").build()) {
 *   ServingStatus web = client.check("web-1");           // SERVING, NOT_SERVING; NOT_FOUND throws
 *   Watch watch = client.watch("web-1", new HealthListener() {
 *     public void onUpdate(HealthUpdate update) { balancer.mark(update.status()); }
 *     public void onStopped(Status status) { log.warn("no health service: {}", status); }
 *   });
 *   ...
 *   watch.close();
 * }
 * }</pre>
 *
 * <p>Every unary call carries the client's deadline ({@link Builder#deadline}, 5 s unless set) and
 * fails with the server's {@link StatusRuntimeException}, such as {@code NOT_FOUND} for an unknown
 * name. The client is thread-safe; close it to release its connection.
 */
public final class DockhealthClient implements AutoCloseable {
  /** The deadline of a unary call when {@link Builder#deadline} is not set. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(5);

  private static final int MAX_MESSAGE_BYTES = 64 << 20; // a List of many containers' probe outputs

  private final String target;
  private final ManagedChannel channel;
  private final Channel calls; // the channel, with the extra headers if any
  private final EventLoopGroup ownedEventLoop; // null for a channel made elsewhere
  private final Duration deadline;
  private final CallOptions callOptions;
  private final ReconnectBackoff backoff;
  private final Clock clock;
  private final Ticker ticker;
  private final DoubleSupplier random;
  private final ScheduledExecutorService givenScheduler;
  private final Scheduler testScheduler;
  private final Set<Watch> watches = ConcurrentHashMap.newKeySet();
  private final Object schedulerLock = new Object();
  @GuardedBy("schedulerLock")
  private ScheduledExecutorService ownedScheduler; // made on the first watch
  private volatile boolean closed;

  private DockhealthClient(Builder builder, ManagedChannel channel, EventLoopGroup ownedEventLoop) {
    this.target = builder.target.text();
    this.channel = channel;
    this.ownedEventLoop = ownedEventLoop;
    Metadata headers = new Metadata();
    headers.merge(builder.headers); // a copy: the builder may go on to build other clients
    this.calls = headers.keys().isEmpty()
        ? channel
        : ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(headers));
    this.deadline = builder.deadline;
    this.callOptions = builder.gzip ? CallOptions.DEFAULT.withCompression("gzip") : CallOptions.DEFAULT;
    this.backoff = builder.backoff;
    this.clock = builder.clock;
    this.ticker = builder.ticker;
    this.random = builder.random;
    this.givenScheduler = builder.scheduler;
    this.testScheduler = builder.testScheduler;
  }

  /**
   * Starts a client of {@code target}: {@code host:port} ({@code :port} is this machine),
   * {@code unix:///path/to/socket}, or a gRPC target URI such as {@code dns:///host:port}.
   * Plaintext unless {@link Builder#tls} is given.
   *
   * @throws IllegalArgumentException if the target cannot be parsed, e.g. has no port
   */
  public static Builder newBuilder(String target) {
    return new Builder(Target.parse(target));
  }

  /** The target as given to {@link #newBuilder}. */
  public String target() {
    return target;
  }

  /**
   * Connects, if not connected yet, and waits until the connection is ready (TCP or unix socket,
   * TLS handshake, HTTP/2 settings) or the timeout passes. Failed attempts are retried with gRPC's
   * connection backoff meanwhile.
   *
   * @return whether the connection is ready
   */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    checkNotNull(timeout, "timeout");
    checkArgument(!timeout.isNegative(), "timeout: %s (expected: >= 0)", timeout);
    CountDownLatch done = new CountDownLatch(1);
    follow(channel.getState(true), done);
    done.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    return channel.getState(false) == ConnectivityState.READY;
  }

  private void follow(ConnectivityState state, CountDownLatch done) {
    if (state == ConnectivityState.READY || state == ConnectivityState.SHUTDOWN) {
      done.countDown();
      return;
    }
    // getState(true) again on each change: a channel that fell back to IDLE starts connecting anew.
    channel.notifyWhenStateChanged(state, () -> follow(channel.getState(true), done));
  }

  /**
   * grpc.health.v1.Health/Check: the status of one name now.
   *
   * @throws StatusRuntimeException {@code NOT_FOUND} for an unknown name, {@code DEADLINE_EXCEEDED}
   *     after the deadline, {@code UNIMPLEMENTED} if the server has no health service, ...
   */
  public ServingStatus check(String service) {
    return check(service, deadline);
  }

  /** {@link #check(String)} with a deadline of its own. */
  public ServingStatus check(String service, Duration deadline) {
    checkNotNull(service, "service");
    checkDeadline(deadline);
    HealthCheckResponse response = withOptions(HealthGrpc.newBlockingStub(calls), deadline)
        .check(HealthCheckRequest.newBuilder().setService(service).build());
    return response.getStatus();
  }

  /**
   * grpc.health.v1.Health/List (gRFC A90): every name and its status, by name. The sidecar refuses
   * with {@code RESOURCE_EXHAUSTED} beyond 100 names; {@link #listServices()} has no limit.
   */
  public Map<String, ServingStatus> list() {
    Map<String, HealthCheckResponse> statuses = withOptions(HealthGrpc.newBlockingStub(calls), deadline)
        .list(HealthListRequest.getDefaultInstance()).getStatusesMap();
    ImmutableSortedMap.Builder<String, ServingStatus> result = ImmutableSortedMap.naturalOrder();
    statuses.forEach((name, response) -> result.put(name, response.getStatus()));
    return result.build();
  }

  /**
   * grpc.health.v1.Health/Watch, kept open across failures by the client rules of gRFC A17: the
   * listener learns the status at once, then each change; while the stream is down it gets
   * {@code UNKNOWN} once, and the client reconnects with exponential backoff ({@link
   * Builder#reconnectBackoff}), starting over whenever a message arrives. A server without the
   * health service ({@code UNIMPLEMENTED}) ends the watch: {@link HealthListener#onStopped}.
   */
  public Watch watch(String service, HealthListener listener) {
    checkNotNull(service, "service");
    checkNotNull(listener, "listener");
    return startWatch(HealthGrpc.getWatchMethod(), HealthCheckRequest.newBuilder().setService(service).build(),
        new HealthWatcher(service, listener, clock));
  }

  /** dockhealth.v1 GetContainer: one container by name, full ID or 12-character ID. */
  public Container getContainer(String name) {
    checkNotNull(name, "name");
    return withOptions(ContainerHealthGrpc.newBlockingStub(calls), deadline)
        .getContainer(GetContainerRequest.newBuilder().setName(name).build());
  }

  /** dockhealth.v1 ListContainers: every exposed container, ordered by first name. */
  public ListContainersResponse listContainers() {
    return withOptions(ContainerHealthGrpc.newBlockingStub(calls), deadline)
        .listContainers(ListContainersRequest.getDefaultInstance());
  }

  /** dockhealth.v1 GetService: one service name, its status and the containers behind it. */
  public Service getService(String name) {
    checkNotNull(name, "name");
    return withOptions(ContainerHealthGrpc.newBlockingStub(calls), deadline)
        .getService(GetServiceRequest.newBuilder().setName(name).build());
  }

  /** dockhealth.v1 ListServices: every service name with its members, without List's limit. */
  public ListServicesResponse listServices() {
    return withOptions(ContainerHealthGrpc.newBlockingStub(calls), deadline)
        .listServices(ListServicesRequest.getDefaultInstance());
  }

  /**
   * dockhealth.v1 WatchContainers, kept open across failures like {@link #watch}: each new stream
   * starts with every container ({@code reset}), then brings changes.
   */
  public Watch watchContainers(ContainerListener listener) {
    checkNotNull(listener, "listener");
    return startWatch(ContainerHealthGrpc.getWatchContainersMethod(), WatchContainersRequest.getDefaultInstance(),
        new ContainerWatcher(listener));
  }

  /**
   * Ends every watch and the connection, and stops the client's threads. Waits at most 5 s for
   * calls in flight to end.
   */
  @Override
  public void close() {
    closed = true;
    List.copyOf(watches).forEach(Watch::close);
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (schedulerLock) {
      if (ownedScheduler != null) {
        ownedScheduler.shutdownNow();
      }
    }
    if (ownedEventLoop != null) {
      // No quiet period: the channel is gone, nothing more will be queued. Waiting for the thread
      // to end lets a JVM that exits next do so at once (see Builder#build).
      ownedEventLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  private <ReqT, RespT> Watch startWatch(MethodDescriptor<ReqT, RespT> method, ReqT request,
      ReconnectingStream.Handler<RespT> handler) {
    checkState(!closed, "client closed");
    ReconnectingStream<ReqT, RespT> stream = new ReconnectingStream<>(calls, method, request, callOptions,
        handler, backoff, scheduler(), ticker, random);
    Watch watch = new Watch() {
      @Override
      public void close() {
        watches.remove(this);
        stream.close();
      }
    };
    watches.add(watch);
    stream.start();
    return watch;
  }

  private Scheduler scheduler() {
    if (testScheduler != null) {
      return testScheduler;
    }
    if (givenScheduler != null) {
      return Scheduler.of(givenScheduler);
    }
    synchronized (schedulerLock) {
      if (ownedScheduler == null) {
        // Made on the first watch only: a one-shot Check needs no timer thread.
        ownedScheduler = Executors.newSingleThreadScheduledExecutor(
            new ThreadFactoryBuilder().setNameFormat("dockhealth-client-reconnect").setDaemon(true).build());
      }
      return Scheduler.of(ownedScheduler);
    }
  }

  private <S extends AbstractStub<S>> S withOptions(S stub, Duration deadline) {
    S withDeadline = stub.withDeadline(Deadline.after(deadline.toNanos(), TimeUnit.NANOSECONDS));
    return callOptions.getCompressor() == null ? withDeadline : withDeadline.withCompression(callOptions.getCompressor());
  }

  private static void checkDeadline(Duration deadline) {
    checkNotNull(deadline, "deadline");
    checkArgument(deadline.compareTo(Duration.ZERO) > 0, "deadline: %s (expected: > 0)", deadline);
  }

  /** Configures a {@link DockhealthClient}. */
  public static final class Builder {
    private final Target target;
    private final Metadata headers = new Metadata();
    private Duration deadline = DEFAULT_DEADLINE;
    private SslContext sslContext; // null: plaintext
    private String serverName;
    private String userAgent;
    private boolean gzip;
    private ReconnectBackoff backoff = ReconnectBackoff.DEFAULT;
    private ScheduledExecutorService scheduler;
    private Scheduler testScheduler;
    private Clock clock = Clock.systemUTC();
    private Ticker ticker = Ticker.systemTicker();
    private DoubleSupplier random = () -> ThreadLocalRandom.current().nextDouble();

    private Builder(Target target) {
      this.target = target;
    }

    /** The deadline of every unary call (Check, List, Get*). Default {@link #DEFAULT_DEADLINE}. */
    public Builder deadline(Duration deadline) {
      checkDeadline(deadline);
      this.deadline = deadline;
      return this;
    }

    /**
     * Speaks TLS, reading the options' files now.
     *
     * @throws TlsConfigException if a file cannot be read or holds no usable certificate or key
     */
    public Builder tls(TlsOptions options) throws TlsConfigException {
      checkNotNull(options, "options");
      this.sslContext = TlsContexts.create(options);
      this.serverName = options.serverName().orElse(null);
      return this;
    }

    /** The user-agent sent before gRPC's own, e.g. {@code my-app/1.0 grpc-java-netty/1.85.1}. */
    public Builder userAgent(String userAgent) {
      this.userAgent = checkNotNull(userAgent, "userAgent");
      return this;
    }

    /**
     * A header sent on every call, e.g. for a proxy's authentication. Names are case-insensitive;
     * a name ending in {@code -bin} carries the value's UTF-8 bytes. May be called several times,
     * also with the same name.
     *
     * @throws IllegalArgumentException if the name is not a valid HTTP/2 header name
     */
    public Builder header(String name, String value) {
      checkNotNull(name, "name");
      checkNotNull(value, "value");
      String key = name.toLowerCase(Locale.ROOT);
      if (key.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
        headers.put(Metadata.Key.of(key, Metadata.BINARY_BYTE_MARSHALLER), value.getBytes(StandardCharsets.UTF_8));
      } else {
        headers.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
      }
      return this;
    }

    /** Compresses requests with gzip. Responses in gzip are always accepted. */
    public Builder gzip(boolean gzip) {
      this.gzip = gzip;
      return this;
    }

    /** How watches wait between reconnects. Default {@link ReconnectBackoff#DEFAULT}. */
    public Builder reconnectBackoff(ReconnectBackoff backoff) {
      this.backoff = checkNotNull(backoff, "backoff");
      return this;
    }

    /**
     * Where watches schedule their reconnects. The client does not shut it down. By default the
     * client makes one daemon thread on its first watch and stops it on close.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = checkNotNull(scheduler, "scheduler");
      return this;
    }

    /** The clock that stamps {@link HealthUpdate#time()}. Default the system clock, UTC. */
    public Builder clock(Clock clock) {
      this.clock = checkNotNull(clock, "clock");
      return this;
    }

    /** A scheduler of the test's own, a fake clock's. For tests. */
    Builder scheduler(Scheduler scheduler) {
      this.testScheduler = checkNotNull(scheduler, "scheduler");
      return this;
    }

    /** How the backoff measures the time a failed stream took. For tests. */
    Builder ticker(Ticker ticker) {
      this.ticker = checkNotNull(ticker, "ticker");
      return this;
    }

    /** Where the backoff's jitter comes from: numbers in [0, 1). For tests. */
    Builder random(DoubleSupplier random) {
      this.random = checkNotNull(random, "random");
      return this;
    }

    /** The client. It connects on its first call (or {@link #awaitReady}), not before. */
    public DockhealthClient build() {
      // An event loop of the client's own rather than grpc's shared one, so that close() can stop
      // its thread. A JVM exits only once no thread sits in native code, and waits up to 300 ms
      // for one that does: grpc's shared loop, parked in epoll_wait, cost every probe that much.
      EventLoopGroup eventLoop = new MultiThreadIoEventLoopGroup(1,
          new DefaultThreadFactory("dockhealth-client", true), NioIoHandler.newFactory());
      NettyChannelBuilder channel;
      if (target instanceof Target.Unix unix) {
        // NIO speaks unix sockets since JDK 16 (and Netty 4.2), so no native transport is needed.
        channel = NettyChannelBuilder.forAddress(UnixDomainSocketAddress.of(unix.path()))
            .channelType(NioDomainSocketChannel.class, UnixDomainSocketAddress.class)
            // grpc sets SO_KEEPALIVE, which a unix socket does not have: Netty would warn at every
            // connection. A null value takes the option off.
            .withOption(ChannelOption.SO_KEEPALIVE, null)
            .overrideAuthority("localhost"); // what grpc-go sends for unix targets
      } else {
        if (target instanceof Target.Tcp tcp && tcp.isLiteral()) {
          // An IP literal (or this machine) needs no name resolver: quicker to start, for the probe.
          InetAddress ip = tcp.host().isEmpty() ? InetAddress.getLoopbackAddress() : InetAddresses.forString(tcp.host());
          channel = NettyChannelBuilder.forAddress(new InetSocketAddress(ip, tcp.port()))
              .overrideAuthority(tcp.authority());
        } else if (target instanceof Target.Tcp tcp) {
          // A name: grpc's DNS resolver tries every address it has and re-resolves on reconnect.
          channel = NettyChannelBuilder.forTarget("dns:///" + tcp.authority());
        } else {
          channel = NettyChannelBuilder.forTarget(target.text());
        }
        channel.channelType(NioSocketChannel.class, InetSocketAddress.class);
      }
      channel.eventLoopGroup(eventLoop); // grpc-netty wants it whenever the channel type is given
      if (sslContext != null) {
        channel.sslContext(sslContext);
        if (serverName != null) {
          // grpc-go sends the server name as :authority too, and grpc-java verifies against it.
          channel.overrideAuthority(serverName);
        }
      } else {
        channel.usePlaintext();
      }
      if (userAgent != null) {
        channel.userAgent(userAgent);
      }
      // Long watches: notice a peer that vanished without closing the connection. The sidecar
      // allows pings every 5 s.
      channel.keepAliveTime(30, TimeUnit.SECONDS).keepAliveTimeout(10, TimeUnit.SECONDS)
          .maxInboundMessageSize(MAX_MESSAGE_BYTES);
      return new DockhealthClient(this, channel.build(), eventLoop);
    }
  }

  /** A client on a channel made elsewhere, e.g. in-process in tests. The client shuts it down. */
  static DockhealthClient forChannel(ManagedChannel channel, UnaryOperator<Builder> options) {
    Builder builder = options.apply(new Builder(new Target.Uri("in-process")));
    return new DockhealthClient(builder, channel, null);
  }
}
