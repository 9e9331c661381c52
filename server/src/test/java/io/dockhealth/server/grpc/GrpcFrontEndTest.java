package io.dockhealth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.proto.health.v1.HealthCheckRequest;
import io.dockhealth.proto.health.v1.HealthCheckResponse;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.metrics.Metrics;
import io.dockhealth.server.model.Registry;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSpec;
import io.dockhealth.server.testing.FakeClock;
import io.dockhealth.testing.HealthClient;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.stub.StreamObserver;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC server's limits over real loopback TCP, with an in-memory registry: connections under
 * the cap, calls and Watch streams per connection, handshake and idle times, and what a malformed
 * or oversized request gets and is counted as.
 */
class GrpcFrontEndTest {
  private static final Duration DEADLINE = Duration.ofSeconds(10);

  /** Client event loops for unix-socket channels: grpc's own are for TCP. */
  private static final EventLoopGroup UNIX_CLIENTS = new MultiThreadIoEventLoopGroup(1,
      new DefaultThreadFactory("test-grpc-unix-client", true), NioIoHandler.newFactory());

  private final FakeClock clock = new FakeClock(Instant.parse("2026-11-23T10:00:00Z"));
  private final Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
      Duration.ofSeconds(60), clock, clock);
  private final Metrics metrics = new Metrics();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private final List<SocketChannel> unixConnections = new ArrayList<>();
  private GrpcFrontEnd server;
  @TempDir Path directory;

  @AfterEach
  void stop() throws Exception {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (Socket socket : sockets) {
      socket.close();
    }
    for (SocketChannel connection : unixConnections) {
      connection.close();
    }
    if (server != null) {
      server.stopAsync().awaitTerminated();
    }
  }

  private void start(GrpcLimits limits) {
    start(ListenerSpec.tcp(new InetSocketAddress("127.0.0.1", 0)), limits);
  }

  private void start(ListenerSpec listener, GrpcLimits limits) {
    server = new GrpcFrontEnd(listener, registry, 100, 100, false, Exposure.DEFAULT, limits, metrics);
    server.startAsync().awaitRunning();
  }

  private Path startOnUnixSocket(GrpcLimits limits) {
    Path socket = directory.resolve("grpc.sock");
    start(new ListenerSpec(new ListenAddress.Unix(socket), Optional.empty(), ListenerSpec.DEFAULT_SOCKET_MODE), limits);
    return socket;
  }

  /** A channel of its own over the unix socket: one connection. */
  private ManagedChannel unixChannel(Path socket) {
    ManagedChannel channel = NettyChannelBuilder.forAddress(UnixDomainSocketAddress.of(socket))
        .channelType(NioDomainSocketChannel.class, UnixDomainSocketAddress.class)
        .withOption(ChannelOption.SO_KEEPALIVE, null) // not a unix socket's option: Netty would warn
        .eventLoopGroup(UNIX_CLIENTS)
        .usePlaintext()
        .build();
    channels.add(channel);
    return channel;
  }

  /** A unix-socket connection that sends nothing. */
  private SocketChannel silentUnixConnection(Path socket) throws IOException {
    SocketChannel connection = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    unixConnections.add(connection);
    return connection;
  }

  /** Whether the server closed the connection: reading what it sent ends before {@link #DEADLINE}. */
  private static boolean closedByServer(SocketChannel connection) throws Exception {
    return CompletableFuture.supplyAsync(() -> {
      ByteBuffer buffer = ByteBuffer.allocate(4096);
      try {
        while (connection.read(buffer.clear()) >= 0) {
          // the server's HTTP/2 settings, if any
        }
        return true;
      } catch (IOException e) {
        return true; // reset
      }
    }).get(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Limits with a handshake timeout long enough that only the cap closes silent connections. */
  private static GrpcLimits limits(int connections, int calls, int watches) {
    return new GrpcLimits(connections, calls, watches, Duration.ofMinutes(5), GrpcLimits.DEFAULT_MAX_CONNECTION_IDLE);
  }

  /** A channel of its own: one connection. */
  private ManagedChannel channel() {
    ManagedChannel channel = NettyChannelBuilder.forAddress(server.address()).usePlaintext().build();
    channels.add(channel);
    return channel;
  }

  private Socket silentSocket() throws IOException {
    Socket socket = new Socket(server.address().getAddress(), server.address().getPort());
    socket.setSoTimeout((int) DEADLINE.toMillis());
    sockets.add(socket);
    return socket;
  }

  private static HealthCheckResponse check(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel).withDeadlineAfter(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
        .check(HealthCheckRequest.getDefaultInstance());
  }

  /** A Watch of "" on the channel, done once its first message came, or failed with its status. */
  private static CompletableFuture<Status> watch(ManagedChannel channel) {
    CompletableFuture<Status> first = new CompletableFuture<>();
    HealthGrpc.newStub(channel).watch(HealthCheckRequest.getDefaultInstance(), new StreamObserver<>() {
      @Override
      public void onNext(HealthCheckResponse value) {
        first.complete(Status.OK);
      }

      @Override
      public void onError(Throwable t) {
        first.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {}
    });
    return first;
  }

  /**
   * Whether the server closed the socket: reading what it sent (its HTTP/2 settings) ends, or is
   * reset, before the read times out.
   */
  private static boolean closedByServer(Socket socket) throws IOException {
    try {
      return socket.getInputStream().readAllBytes() != null;
    } catch (SocketException e) {
      return true; // reset (a read that times out throws SocketTimeoutException, no SocketException)
    }
  }

  private String metrics() {
    return new String(metrics.scrape(), StandardCharsets.UTF_8);
  }

  private double metric(String sample) {
    return metrics().lines().filter(line -> line.startsWith(sample + " "))
        .mapToDouble(line -> Double.parseDouble(line.substring(sample.length() + 1))).findFirst().orElse(0);
  }

  @Test
  void watchStreams_oneConnectionGetsItsShare_anotherConnectionStillGetsIn() throws Exception {
    start(limits(10, 100, 2));
    ManagedChannel greedy = channel();
    assertThat(watch(greedy).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);
    assertThat(watch(greedy).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);

    Status third = watch(greedy).get(10, TimeUnit.SECONDS);

    assertThat(third.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(third.getDescription()).contains("--max-watch-streams-per-connection");
    assertThat(watch(channel()).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);
    assertThat(check(greedy).getStatus()).as("Check is no Watch").isNotNull();
  }

  @Test
  void callsPerConnection_furtherCallsWaitForOneToEnd_onOtherConnectionsTheyDoNot() throws Exception {
    start(limits(10, 1, 10));
    ManagedChannel busy = channel();
    assertThat(watch(busy).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);

    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(busy).withDeadlineAfter(1, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    assertThat(check(channel()).getStatus()).isNotNull();
  }

  @Test
  void connectionCap_silentConnectionsGiveWayToANewClient() throws Exception {
    start(limits(2, 100, 10));
    Socket oldest = silentSocket();
    silentSocket();
    await().atMost(DEADLINE).until(() -> metrics().contains("dockhealth_grpc_connections 2.0"));

    assertThat(check(channel()).getStatus()).isNotNull();

    assertThat(closedByServer(oldest)).isTrue();
    assertThat(metrics()).contains("dockhealth_connections_reclaimed_total{listener=\"grpc\"} 1.0");
  }

  /**
   * Every client of a unix socket has the same unnamed address: the cap tells their connections
   * apart all the same, and sees which have a call open.
   */
  @Test
  void connectionCap_onAUnixSocket_silentThenIdleConnectionsGiveWay_oneWithAWatchOpenDoesNot() throws Exception {
    Path socket = startOnUnixSocket(limits(3, 100, 10));
    ManagedChannel watching = unixChannel(socket);
    assertThat(watch(watching).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);
    ManagedChannel idle = unixChannel(socket);
    check(idle);
    SocketChannel silent = silentUnixConnection(socket);
    await().atMost(DEADLINE).until(() -> metrics().contains("dockhealth_grpc_connections 3.0"));

    assertThat(check(unixChannel(socket)).getStatus()).isNotNull();
    assertThat(closedByServer(silent)).as("the silent connection went first").isTrue();
    assertThat(idle.getState(false)).as("the idle one is still there").isEqualTo(ConnectivityState.READY);

    assertThat(check(unixChannel(socket)).getStatus()).isNotNull();
    await().atMost(DEADLINE).until(() -> idle.getState(false) != ConnectivityState.READY);
    assertThat(watching.getState(false)).isEqualTo(ConnectivityState.READY);
    assertThat(check(watching).getStatus()).as("the connection with a Watch open is kept").isNotNull();
    assertThat(metrics()).contains("dockhealth_connections_reclaimed_total{listener=\"grpc\"} 2.0");
  }

  @Test
  void connectionCap_everyConnectionWithACallOpen_refusesTheNext() throws Exception {
    start(limits(1, 100, 10));
    assertThat(watch(channel()).get(10, TimeUnit.SECONDS)).isEqualTo(Status.OK);

    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(channel()).withDeadlineAfter(2, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode())
            .isIn(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED));
    assertThat(metric("dockhealth_connections_refused_total{listener=\"grpc\"}")).isGreaterThanOrEqualTo(1);
  }

  @Test
  void handshakeTimeout_closesAConnectionThatNeverStartsHttp2() throws Exception {
    start(new GrpcLimits(10, 100, 10, Duration.ofSeconds(1), GrpcLimits.DEFAULT_MAX_CONNECTION_IDLE));
    Socket silent = silentSocket();
    long started = System.nanoTime();

    assertThat(closedByServer(silent)).isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isGreaterThanOrEqualTo(Duration.ofMillis(900));
  }

  @Test
  void maxConnectionIdle_aConnectionWithoutCallsIsToldToGoAway() throws Exception {
    start(new GrpcLimits(10, 100, 10, GrpcLimits.DEFAULT_HANDSHAKE_TIMEOUT, Duration.ofSeconds(1)));
    ManagedChannel channel = channel();
    check(channel);
    assertThat(channel.getState(false)).isEqualTo(ConnectivityState.READY);

    await().atMost(DEADLINE).until(() -> channel.getState(false) != ConnectivityState.READY);
  }

  @Test
  void oversizedMessage_resourceExhausted_andCountedSo() {
    start(GrpcLimits.defaults());
    HealthCheckRequest big = HealthCheckRequest.newBuilder().setService("x".repeat(20_000)).build();

    assertThatThrownBy(() -> HealthGrpc.newBlockingStub(channel()).withDeadlineAfter(10, TimeUnit.SECONDS).check(big))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(metrics()).contains(
        "dockhealth_grpc_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"grpc.health.v1.Health/Check\"} 1.0"));
  }

  @Test
  void reflection_garbage_invalidArgument_andCountedSo() {
    start(GrpcLimits.defaults());
    HealthClient client = new HealthClient(channel());

    Status status = client.raw(ServerReflectionGrpc.getServerReflectionInfoMethod().getFullMethodName(),
        new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff});

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("malformed").contains("expected");
    await().atMost(DEADLINE).untilAsserted(() -> assertThat(metrics()).contains(
        "dockhealth_grpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"grpc.reflection.v1.ServerReflection/"
            + "ServerReflectionInfo\"} 1.0"));
  }
}
