package io.dockhealth.client.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.dockhealth.client.DockhealthClient;
import io.dockhealth.client.HealthListener;
import io.dockhealth.client.HealthUpdate;
import io.dockhealth.client.TlsOptions;
import io.dockhealth.client.Watch;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.TestCertificates;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The probe and the library against the packaged sidecar with TLS, with mutual TLS, and on a unix
 * socket, watching a real Docker engine; certificates made by openssl.
 */
class SecureSidecarIT {
  @TempDir static Path dir;
  private static DockerEngine engine;
  private static TestCertificates certs;
  private static SidecarProcess tls;
  private static SidecarProcess mutual;
  private static SidecarProcess unix;
  private static Path grpcSocket;

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("secure-it");
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    certs = TestCertificates.create(dir);
    tls = SidecarProcess.builder(engine.host()).tls(certs, false).readiness(SidecarProcess.Readiness.IN_SYNC)
        .start();
    mutual = SidecarProcess.builder(engine.host()).tls(certs, true).readiness(SidecarProcess.Readiness.IN_SYNC)
        .start();
    grpcSocket = dir.resolve("grpc.sock");
    unix = SidecarProcess.builder(engine.host()).grpcSocket(grpcSocket).httpSocket(dir.resolve("http.sock"))
        .readiness(SidecarProcess.Readiness.IN_SYNC).start();
  }

  @AfterAll
  static void stop() {
    for (SidecarProcess sidecar : new SidecarProcess[] {tls, mutual, unix}) {
      if (sidecar != null) {
        sidecar.close();
      }
    }
    if (engine != null) {
      engine.close();
    }
  }

  private static Probe.Result probe(SidecarProcess sidecar, String... flags) {
    List<String> args = new ArrayList<>(List.of("-addr=" + sidecar.grpcAddress(), "-service=web",
        "-connect-timeout=3s", "-rpc-timeout=5s"));
    args.addAll(List.of(flags));
    return Probe.run(args.toArray(String[]::new));
  }

  /** Problems the sidecar logged: any warning, error or stack trace. */
  private static List<String> problems(SidecarProcess sidecar) {
    return sidecar.log().stream()
        .filter(line -> line.contains(" WARN ") || line.contains(" ERROR ") || line.contains("SEVERE")
            || line.contains("WARNING") || line.startsWith("\tat ") || line.contains("Exception"))
        .toList();
  }

  // ----- dockhealth-probe -----

  @Test
  void probe_tlsWithTheCa_exits0_byAddressOrServerName() {
    String ca = "-tls-ca-cert=" + certs.ca();
    for (List<String> flags : List.of(List.of("-tls", ca), List.of("-tls", ca, "-tls-server-name=localhost"),
        List.of("-tls", "-tls-no-verify"))) {
      Probe.Result result = probe(tls, flags.toArray(String[]::new));
      assertThat(result.exitCode()).as("%s: %s", flags, result.err()).isZero();
      assertThat(result.errLines()).containsExactly("status: SERVING");
    }
  }

  @Test
  void probe_tlsThatCannotVerifyOrPlaintext_exits2_andTheSidecarLogsNoProblem() {
    for (List<String> flags : List.<List<String>>of(
        List.of("-tls"), // the JDK's roots do not know the test CA
        List.of("-tls", "-tls-ca-cert=" + certs.ca(), "-tls-server-name=elsewhere.example"),
        List.of())) { // plaintext
      List<String> args = new ArrayList<>(flags);
      args.add("-connect-timeout=500ms");
      Probe.Result result = probe(tls, args.toArray(String[]::new));
      assertThat(result.exitCode()).as("%s: %s", flags, result.err()).isEqualTo(2);
      assertThat(result.errLines()).singleElement().asString().startsWith("timeout: failed to connect service");
    }
    assertThat(problems(tls)).isEmpty();
  }

  @Test
  void probe_mutualTls_clientCertificateOfTheCa_exits0_noneOrAnotherCas_isRefused() {
    String ca = "-tls-ca-cert=" + certs.ca();
    Probe.Result served = probe(mutual, "-tls", ca, "-tls-client-cert=" + certs.client().certificate(),
        "-tls-client-key=" + certs.client().key());
    assertThat(served.exitCode()).as(served.err()).isZero();

    Probe.Result none = probe(mutual, "-tls", ca, "-connect-timeout=500ms");
    Probe.Result other = probe(mutual, "-tls", ca, "-connect-timeout=500ms",
        "-tls-client-cert=" + certs.otherClient().certificate(), "-tls-client-key=" + certs.otherClient().key());
    for (Probe.Result refused : List.of(none, other)) {
      assertThat(refused.exitCode()).as(refused.err()).isNotZero().isNotEqualTo(4);
    }
    assertThat(problems(mutual)).isEmpty();
  }

  @Test
  void probe_unixSocket_checksListsAndWatches() {
    Probe.Result check = Probe.run("-addr=unix://" + grpcSocket, "-service=web");
    assertThat(check.exitCode()).as(check.err()).isZero();
    assertThat(check.errLines()).containsExactly("status: SERVING");

    Probe.Result list = Probe.run("list", "-addr=unix://" + grpcSocket);
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(list.outLines()).anySatisfy(line -> assertThat(line).startsWith("web "));

    Probe.Result watch = Probe.run("watch", "-addr=unix:" + grpcSocket, "-service=web", "-count=1");
    assertThat(watch.exitCode()).as(watch.err()).isZero();
    assertThat(watch.outLines()).singleElement().asString().endsWith(" web SERVING");
  }

  // ----- io.dockhealth.client -----

  @Test
  void client_tls_checksGetsAndWatches() throws Exception {
    TlsOptions options = TlsOptions.verifyingServer().withCaCerts(certs.ca()).withServerName("localhost");
    try (DockhealthClient client = DockhealthClient.newBuilder(tls.grpcAddress()).tls(options).build()) {
      assertThat(client.check("web")).isEqualTo(ServingStatus.SERVING);
      assertThat(client.getContainer("web").getNames(0)).isEqualTo("web");
      assertFollowsWeb(client);
    }
  }

  @Test
  void client_mutualTls_withTheClientCertificate_isServed_withoutIt_unavailable() throws Exception {
    TlsOptions options = TlsOptions.verifyingServer().withCaCerts(certs.ca());
    try (DockhealthClient client = DockhealthClient.newBuilder(mutual.grpcAddress())
        .tls(options.withClientCertificate(certs.client().certificate(), certs.client().key())).build()) {
      assertThat(client.check("web")).isEqualTo(ServingStatus.SERVING);
      assertThat(client.listContainers().getContainersList()).isNotEmpty();
    }
    try (DockhealthClient client = DockhealthClient.newBuilder(mutual.grpcAddress()).tls(options)
        .deadline(Duration.ofSeconds(2)).build()) {
      assertThatThrownBy(() -> client.check("web")).isInstanceOfSatisfying(StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isIn(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED));
    }
  }

  @Test
  void client_unixSocket_checksListsAndWatches_withoutWarnings() throws Exception {
    List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
          warnings.add(record);
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    Logger.getLogger("").addHandler(handler); // grpc and Netty log through java.util.logging here
    try (DockhealthClient client = DockhealthClient.newBuilder("unix://" + grpcSocket).build()) {
      assertThat(client.awaitReady(Duration.ofSeconds(10))).isTrue();
      assertThat(client.check("web")).isEqualTo(ServingStatus.SERVING);
      assertThat(client.list()).containsEntry("web", ServingStatus.SERVING);
      assertThat(client.listServices().getServicesList()).isNotEmpty();
      assertFollowsWeb(client);
    } finally {
      Logger.getLogger("").removeHandler(handler);
    }
    assertThat(warnings).extracting(LogRecord::getMessage).isEmpty();
    assertThat(problems(unix)).isEmpty();
  }

  /** A watch of "web" on {@code client} gets SERVING. */
  private static void assertFollowsWeb(DockhealthClient client) {
    List<ServingStatus> statuses = new CopyOnWriteArrayList<>();
    Watch watch = client.watch("web", new HealthListener() {
      @Override
      public void onUpdate(HealthUpdate update) {
        statuses.add(update.status());
      }

      @Override
      public void onStopped(Status status) {
        statuses.add(ServingStatus.UNRECOGNIZED);
      }
    });
    try {
      await().atMost(Duration.ofSeconds(10)).until(() -> statuses.contains(ServingStatus.SERVING));
    } finally {
      watch.close();
    }
  }
}
