package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.management.UnixOperatingSystemMXBean;
import io.dockhealth.proto.health.v1.HealthGrpc;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.TestCertificates;
import io.grpc.Status;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What misbehaving clients can do to the packaged sidecar, over real sockets, each test with a
 * sidecar process of its own (so that no test depends on connections it does not own): floods of
 * silent and slowloris connections over the caps (on TCP, TLS and unix-socket listeners),
 * abandoned long-polls, a small file-descriptor limit, and hundreds of broken requests against the
 * log.
 *
 * <p>Times are measured per request and logged; what is asserted is what load cannot change:
 * that each request is answered, and answered well, while the flood holds the server's slots.
 */
class LimitsIT {
  /** Far longer than a request or a check can take when it is answered at all. */
  private static final Duration SANE = Duration.ofSeconds(5);

  private static DockerEngine engine;
  private final List<AutoCloseable> closing = new ArrayList<>();
  @TempDir Path dir;

  @BeforeAll
  static void startEngine() {
    engine = DockerEngine.start("limits-it");
  }

  @AfterAll
  static void stopEngine() {
    if (engine != null) {
      engine.close();
    }
  }

  @AfterEach
  void closeAll() throws Exception {
    Collections.reverse(closing);
    for (AutoCloseable closeable : closing) {
      closeable.close();
    }
  }

  private <T extends AutoCloseable> T closing(T closeable) {
    closing.add(closeable);
    return closeable;
  }

  private SidecarProcess sidecar(String... flags) {
    return closing(SidecarProcess.builder(engine.host()).readiness(SidecarProcess.Readiness.IN_SYNC)
        .flags(flags).start());
  }

  private static InetSocketAddress http(SidecarProcess sidecar) {
    return new InetSocketAddress("127.0.0.1", sidecar.httpPort());
  }

  /** One sample of the sidecar's /metrics, or 0 when it has none yet. */
  private static double metric(SidecarProcess sidecar, String sample) {
    Matcher m = Pattern.compile("^" + Pattern.quote(sample) + " ([0-9.eE+-]+)$", Pattern.MULTILINE)
        .matcher(sidecar.metrics());
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** The status line of a request sent on a new connection that the server closes after answering. */
  private static String request(InetSocketAddress address, String path) throws IOException {
    String wire = raw(address, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    return wire.isEmpty() ? "(nothing)" : wire.substring(0, wire.indexOf("\r\n"));
  }

  /** Sends bytes as they are on a new connection and returns all the server sends until it closes. */
  private static String raw(InetSocketAddress address, String request) throws IOException {
    try (Socket socket = new Socket(address.getAddress(), address.getPort())) {
      socket.setSoTimeout((int) SANE.multipliedBy(2).toMillis());
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      byte[] buffer = new byte[8192];
      try {
        for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
          out.write(buffer, 0, n);
        }
      } catch (SocketException e) {
        // reset after the answer: what came is complete
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }

  /** Runs {@code request} and returns how long it took, failing the test if it took {@link #SANE} or more. */
  private static <T> Timed<T> timed(Supplier<T> request) {
    long start = System.nanoTime();
    T result = request.get();
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).as("an answered request").isLessThan(SANE);
    return new Timed<>(result, took);
  }

  private record Timed<T>(T result, Duration took) {}

  private static Duration median(List<Duration> times) {
    return times.stream().sorted().toList().get(times.size() / 2);
  }

  private static String summary(List<Duration> times) {
    List<Long> millis = times.stream().map(Duration::toMillis).sorted().toList();
    return "min " + millis.get(0) + " ms, median " + millis.get(millis.size() / 2) + " ms, max "
        + millis.get(millis.size() - 1) + " ms over " + millis.size();
  }

  // ---------------------------------------------------------------------------------------------
  // The caps hold at accept, and floods over them do not lock anyone out.

  @Test
  void httpCap_connectionsOverIt_theOldestSilentOnesGiveWay_andTheCapHolds() throws Exception {
    SidecarProcess sidecar = sidecar("--http-max-connections=20", "--http-request-timeout=5m");
    Flood flood = closing(Flood.silent(http(sidecar), 60));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}")).isGreaterThanOrEqualTo(40);
      assertThat(flood.stillOpen()).as("closed by the server, as they were reclaimed").isLessThanOrEqualTo(20);
    });
    assertThat(metric(sidecar, "dockhealth_http_connections")).isLessThanOrEqualTo(20);
    assertThat(request(http(sidecar), "/healthz")).isEqualTo("HTTP/1.1 200 OK");
    assertThat(metric(sidecar, "dockhealth_connections_refused_total{listener=\"http\"}")).isZero();
  }

  @Test
  void floods_silentAndSlowlorisOverBothCaps_healthzAndCheckAreAnswered() throws Exception {
    SidecarProcess sidecar = sidecar("--http-max-connections=50", "--grpc-max-connections=50",
        // Long enough that only the caps, not the timeouts, keep the slots free in this test.
        "--http-request-timeout=5m", "--grpc-handshake-timeout=5m");
    HealthClient established = closing(new HealthClient(sidecar.grpcSocketAddress()));
    assertThat(established.check("")).isEqualTo("SERVING");

    Flood silentHttp = closing(Flood.silent(http(sidecar), 100));
    Flood slowHttp = closing(Flood.slowloris(http(sidecar), 100, Duration.ofSeconds(1)));
    Flood silentGrpc = closing(Flood.silent(sidecar.grpcSocketAddress(), 100));
    // Every flood connection accepted: the slots are full of flood connections.
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}")).isGreaterThanOrEqualTo(150);
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"grpc\"}")).isGreaterThanOrEqualTo(50);
    });

    List<Duration> healthz = new ArrayList<>();
    List<Duration> checks = new ArrayList<>();
    List<Duration> newChecks = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      Timed<String> status = timed(() -> {
        try {
          return request(http(sidecar), "/healthz");
        } catch (IOException e) {
          return e.toString();
        }
      });
      assertThat(status.result()).isEqualTo("HTTP/1.1 200 OK");
      healthz.add(status.took());
      Timed<String> check = timed(() -> established.check(""));
      assertThat(check.result()).isEqualTo("SERVING");
      checks.add(check.took());
      try (HealthClient fresh = new HealthClient(sidecar.grpcSocketAddress())) {
        Timed<String> newCheck = timed(() -> fresh.check(""));
        assertThat(newCheck.result()).isEqualTo("SERVING");
        newChecks.add(newCheck.took());
      }
    }
    System.out.printf("under the flood: /healthz %s; Check on an open connection %s; Check on a new one %s%n",
        summary(healthz), summary(checks), summary(newChecks));
    // Within a second, as the contract says; the median, so that one stall of a loaded machine
    // (each request is bounded by SANE all the same) does not fail the test.
    for (List<Duration> times : List.of(healthz, checks, newChecks)) {
      assertThat(median(times)).isLessThan(Duration.ofSeconds(1));
    }
    // Each newcomer took one flood connection's slot: the rest still hold theirs.
    assertThat(silentHttp.stillOpen() + slowHttp.stillOpen()).isGreaterThanOrEqualTo(50 - 10 - 5);
    assertThat(silentGrpc.stillOpen()).isGreaterThanOrEqualTo(50 - 10 - 5);
  }

  /**
   * Unix-socket clients all have the same unnamed address: the caps tell their connections apart
   * all the same, on both listeners.
   */
  @Test
  void unixSockets_silentFloodsOverBothCaps_giveWay_healthzAndCheckAreAnswered() throws Exception {
    Path httpSocket = dir.resolve("http.sock");
    Path grpcSocket = dir.resolve("grpc.sock");
    SidecarProcess sidecar = closing(SidecarProcess.builder(engine.host()).readiness(SidecarProcess.Readiness.IN_SYNC)
        .httpSocket(httpSocket).grpcSocket(grpcSocket)
        .flags("--http-max-connections=20", "--grpc-max-connections=20", "--http-request-timeout=5m",
            "--grpc-handshake-timeout=5m")
        .start());

    Flood silentHttp = closing(Flood.silent(UnixDomainSocketAddress.of(httpSocket), 60));
    Flood silentGrpc = closing(Flood.silent(UnixDomainSocketAddress.of(grpcSocket), 60));

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}")).isGreaterThanOrEqualTo(40);
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"grpc\"}")).isGreaterThanOrEqualTo(40);
      assertThat(silentHttp.stillOpen()).isLessThanOrEqualTo(20);
      assertThat(silentGrpc.stillOpen()).isLessThanOrEqualTo(20);
    });
    assertThat(timed(() -> sidecar.httpGet("/healthz").status()).result()).isEqualTo(200);
    try (HealthClient client = new HealthClient(sidecar.grpcChannel())) {
      assertThat(timed(() -> client.check("")).result()).isEqualTo("SERVING");
    }
    assertThat(metric(sidecar, "dockhealth_grpc_connections")).isLessThanOrEqualTo(20);
    assertThat(metric(sidecar, "dockhealth_connections_refused_total{listener=\"grpc\"}")).isZero();
  }

  /**
   * A client that opens a TLS connection and never sends its ClientHello holds its slot no longer
   * than the timeouts of a request head and of a gRPC handshake, and gives it up to a newer
   * connection meanwhile.
   */
  @Test
  void tls_handshakesNeverStarted_giveWayAndAreClosedAtTheTimeouts() throws Exception {
    TestCertificates certificates = TestCertificates.create(dir);
    SidecarProcess sidecar = closing(SidecarProcess.builder(engine.host()).readiness(SidecarProcess.Readiness.IN_SYNC)
        .tls(certificates, false)
        .flags("--http-max-connections=20", "--grpc-max-connections=20", "--http-request-timeout=2s",
            "--grpc-handshake-timeout=2s")
        .start());

    Flood silentHttp = closing(Flood.silent(http(sidecar), 60));
    Flood silentGrpc = closing(Flood.silent(sidecar.grpcSocketAddress(), 60));

    await().atMost(Duration.ofSeconds(30)).until(() -> silentHttp.stillOpen() == 0 && silentGrpc.stillOpen() == 0);
    assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}")).isGreaterThanOrEqualTo(40);
    assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"grpc\"}")).isGreaterThanOrEqualTo(40);
    assertThat(timed(() -> sidecar.httpGet("/healthz").status()).result()).isEqualTo(200);
    try (HealthClient client = new HealthClient(sidecar.grpcChannel())) {
      assertThat(timed(() -> client.check("")).result()).isEqualTo("SERVING");
    }
  }

  @Test
  void abandonedLongPolls_fiftyAtTheCap_freeTheirSlotsAtOnce() throws Exception {
    SidecarProcess sidecar = sidecar("--http-max-connections=60");
    long version = Long.parseLong(raw(http(sidecar), "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n"
        + "Connection: close\r\n\r\n").replaceAll("(?s).*\"version\": ?\"(\\d+)\".*", "$1"));
    List<Socket> polls = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      Socket socket = new Socket("127.0.0.1", sidecar.httpPort());
      socket.getOutputStream().write(("GET /v1/health?since=" + version + "&wait=2m HTTP/1.1\r\nHost: localhost\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      polls.add(socket);
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.httpLongPolls() == 50);

    long abandoned = System.nanoTime();
    for (Socket socket : polls) {
      socket.close();
    }
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> sidecar.httpLongPolls() == 0
        && metric(sidecar, "dockhealth_http_connections") <= 1);
    Duration freed = Duration.ofNanos(System.nanoTime() - abandoned);
    System.out.printf("50 abandoned long-polls freed their slots in %d ms%n", freed.toMillis());

    // Seen closed at once (tens of milliseconds here), long before the polls' 2 minutes; and not
    // by the cap, which had room.
    assertThat(freed).isLessThan(Duration.ofSeconds(2));
    assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}")).isZero();
  }

  @Test
  void slowloris_getsA408OnceTheRequestTimeoutPasses_whateverItTrickles() throws Exception {
    SidecarProcess sidecar = sidecar("--http-request-timeout=2s");
    Flood slow = closing(Flood.slowloris(http(sidecar), 5, Duration.ofMillis(200)));

    await().atMost(Duration.ofSeconds(30)).until(() -> slow.stillOpen() == 0);
    assertThat(sidecar.log()).anyMatch(line -> line.contains("did not send a whole request head within 2000 ms"));
  }

  /**
   * A client that sends requests and never reads the answers: the answers fill its small receive
   * buffer and the server's send buffer, one then stays unwritten, and the server closes the
   * connection once that answer has waited the request timeout, saying why; others are served.
   */
  @Test
  void aClientThatNeverReadsItsAnswers_isClosedAtTheRequestTimeout_andOthersAreServed() throws Exception {
    SidecarProcess sidecar = sidecar("--http-request-timeout=2s");
    Socket unread = closing(new Socket());
    unread.setReceiveBufferSize(4096);
    unread.connect(http(sidecar));
    // Pipelined, each answered once the one before is written: far more answer bytes than the
    // buffers of both ends hold. From a thread of its own: the server reads no more once its
    // answers wait, so these writes block until the connection is closed.
    Thread writer = new Thread(() -> {
      byte[] request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
      try {
        OutputStream out = unread.getOutputStream();
        for (int i = 0; i < 2_000; i++) {
          out.write(request);
        }
      } catch (IOException e) {
        // closed by the server (or by the test's end)
      }
    }, "unread-answers-writer");
    writer.setDaemon(true);
    writer.start();

    assertThat(request(http(sidecar), "/healthz")).isEqualTo("HTTP/1.1 200 OK");
    // The request timeout plus a margin that a loaded machine does not use up; without the rule
    // the connection waits for ever (an answer being written is not idle).
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(sidecar.log())
        .anyMatch(line -> line.contains("did not read its answer within 2000 ms; closing")));
    unread.setSoTimeout((int) SANE.multipliedBy(2).toMillis());
    drained(unread); // closed: the end comes, not the read timeout
    await().atMost(Duration.ofSeconds(30)).until(() -> metric(sidecar, "dockhealth_http_connections") <= 1);
    assertThat(request(http(sidecar), "/healthz")).isEqualTo("HTTP/1.1 200 OK");
  }

  /**
   * Reads a socket to its end, or its reset when the server closed with our requests unread; a
   * socket still open throws its read timeout.
   */
  private static void drained(Socket socket) throws IOException {
    InputStream in = socket.getInputStream();
    byte[] buffer = new byte[65_536];
    try {
      while (in.read(buffer) >= 0) {
        // what the server wrote before it closed
      }
    } catch (SocketException e) {
      // reset: the end all the same
    }
  }

  @Test
  void smallFileDescriptorLimit_floodOf1100SilentConnections_checkAndHealthzAreAnswered() throws Exception {
    long ours = ((UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getMaxFileDescriptorCount();
    assertThat(ours).as("this JVM's own file descriptor limit, which holds the flood's 2,200 connections;"
        + " raise it with ulimit -n").isGreaterThan(4096);
    SidecarProcess sidecar = closing(SidecarProcess.builder(engine.host()).readiness(SidecarProcess.Readiness.IN_SYNC)
        .fileDescriptorLimit(1024).start());
    String warning = sidecar.log().stream().filter(line -> line.contains("WARN") && line.contains("ulimit -n) is 1024"))
        .findFirst().orElseThrow(() -> new AssertionError("no warning that the caps were lowered: " + sidecar.log()));
    int httpCap = Integer.parseInt(warning.replaceAll(".*--http-max-connections from 10000 to (\\d+).*", "$1"));
    int grpcCap = Integer.parseInt(warning.replaceAll(".*--grpc-max-connections from 1000 to (\\d+).*", "$1"));
    assertThat(httpCap + grpcCap).isLessThan(1024 - 192);
    HealthClient established = closing(new HealthClient(sidecar.grpcSocketAddress()));
    assertThat(established.check("")).isEqualTo("SERVING");

    closing(Flood.silent(http(sidecar), 1100));
    closing(Flood.silent(sidecar.grpcSocketAddress(), 1100));
    // Every flood connection accepted, most of them only to give their slot to a newer one.
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"http\"}"))
          .isGreaterThanOrEqualTo(1100 - httpCap);
      assertThat(metric(sidecar, "dockhealth_connections_reclaimed_total{listener=\"grpc\"}"))
          .isGreaterThanOrEqualTo(1100 - grpcCap);
    });

    Timed<String> healthz = timed(() -> {
      try {
        return request(http(sidecar), "/healthz");
      } catch (IOException e) {
        return e.toString();
      }
    });
    Timed<String> check = timed(() -> established.check(""));
    Timed<String> newCheck;
    try (HealthClient fresh = new HealthClient(sidecar.grpcSocketAddress())) {
      newCheck = timed(() -> fresh.check(""));
    }
    System.out.printf("ulimit -n 1024, 2 x 1100 silent connections: /healthz %d ms, Check %d ms, Check on a new"
        + " connection %d ms; the sidecar holds %d descriptors%n", healthz.took().toMillis(), check.took().toMillis(),
        newCheck.took().toMillis(), openDescriptors(sidecar));
    assertThat(healthz.result()).isEqualTo("HTTP/1.1 200 OK");
    assertThat(check.result()).isEqualTo("SERVING");
    assertThat(newCheck.result()).isEqualTo("SERVING");
    assertThat(openDescriptors(sidecar)).isLessThan(1024);
    assertThat(sidecar.log()).noneMatch(line -> line.contains("Too many open files"));
  }

  private static long openDescriptors(SidecarProcess sidecar) throws IOException {
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(sidecar.pid()), "fd"))) {
      return fds.count();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The log: one line per client fault, a few a minute, never a forged line.

  @Test
  void brokenRequests_300_writeFewerThan20LogLines_eachOneLine() throws Exception {
    SidecarProcess sidecar = sidecar();
    int before = sidecar.log().size();
    HealthClient grpc = closing(new HealthClient(sidecar.grpcSocketAddress()));
    String reflection = ServerReflectionGrpc.getServerReflectionInfoMethod().getFullMethodName();

    for (int i = 0; i < 75; i++) {
      assertThat(raw(http(sidecar), "GARBAGE " + i + "\r\n\r\n")).startsWith("HTTP/1.1 400 ");
      try (Socket socket = new Socket("127.0.0.1", sidecar.httpPort())) {
        socket.getOutputStream().write("POST /v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc"
            .getBytes(StandardCharsets.US_ASCII));
      }
      assertThat(grpc.check("x".repeat(20_000))).isEqualTo("RESOURCE_EXHAUSTED");
      assertThat(grpc.raw(reflection, new byte[] {(byte) 0xff, (byte) 0xff}).getCode())
          .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
    // Every fault seen by the server (the first of each kind logged, the rest counted or held back).
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(metric(sidecar, "dockhealth_grpc_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\""
          + HealthGrpc.getCheckMethod().getFullMethodName() + "\"}")).isEqualTo(75);
      assertThat(metric(sidecar, "dockhealth_grpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"" + reflection
          + "\"}")).isEqualTo(75);
      assertThat(sidecar.log()).anyMatch(line -> line.contains("in the middle of a request"));
    });

    List<String> lines = sidecar.log().subList(before, sidecar.log().size());
    System.out.printf("300 broken requests wrote %d lines:%n%s%n", lines.size(), String.join("\n", lines));
    assertThat(lines).hasSizeLessThan(20);
    assertThat(lines).allMatch(line -> line.matches("^\\d{4}-\\d\\d-\\d\\dT\\S+ (INFO|WARN) .*"), "one event per line");
    assertThat(lines).anyMatch(line -> line.contains("sent a malformed request"))
        .anyMatch(line -> line.contains("in the middle of a request"))
        .anyMatch(line -> line.contains("exceeds maximum size"))
        .anyMatch(line -> line.contains("sent a malformed " + reflection + " request"));
  }

  @Test
  void aLabelWithALineBreak_cannotForgeALogLine() throws Exception {
    SidecarProcess sidecar = sidecar("--log-level=debug");
    String forged = "2026-01-01T00:00:00.000Z ERROR Forged - this line was written by a label";
    engine.docker("run", "-d", "--name", "forger", "--network", "host", "--label", "dockhealth.service=web\n" + forged,
        DockerEngine.IMAGE, "sleep", "600");
    try {
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
          assertThat(sidecar.log()).anyMatch(line -> line.contains("web\\n" + forged)));
      assertThat(sidecar.log()).noneMatch(line -> line.startsWith(forged));
    } finally {
      engine.docker("rm", "-f", "forger");
    }
  }
}
