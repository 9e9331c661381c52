package io.dockhealth.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.dockhealth.server.Main;
import io.dockhealth.server.Sidecar;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.HealthClient;
import io.dockhealth.testing.TestCertificates;
import io.dockhealth.testing.TestCertificates.Issued;
import io.dockhealth.testing.TestCertificates.KeyType;
import io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * TLS and mutual TLS on both listeners of sidecars watching a real Docker engine, asked over real
 * TCP with certificates made by openssl: what is served, what is refused, and certificates rotated
 * under a running sidecar.
 */
class TlsIT {
  private static final Duration READY = Duration.ofSeconds(30);

  @TempDir static Path dir;
  private static DockerEngine engine;
  private static TestCertificates certs;
  private static Path cert;
  private static Path key;
  /** TLS from files the tests replace (rotation). */
  private static Sidecar tls;
  /** Mutual TLS: client certificates of the test CA required. */
  private static Sidecar mutual;

  private final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeAll
  static void start() throws IOException {
    engine = DockerEngine.start("tls-it");
    certs = TestCertificates.create(dir);
    cert = dir.resolve("served.pem");
    key = dir.resolve("served.key");
    install(certs.server());
    tls = Sidecar.start(Main.parseConfig("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + engine.host(), "--drain-period=0s", "--tls-cert=" + cert, "--tls-key=" + key));
    mutual = Sidecar.start(Main.parseConfig(List.of("--grpc-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
        "--docker-host=" + engine.host(), "--drain-period=0s", "--tls-cert=" + certs.server().certificate(),
        "--tls-key=" + certs.server().key(), "--tls-client-ca=" + certs.ca()).toArray(String[]::new)));
    try (HealthClient client = client(tls, null); HealthClient withCertificate = client(mutual, certs.client())) {
      await().atMost(READY).until(() -> client.check("").equals("SERVING"));
      await().atMost(READY).until(() -> withCertificate.check("").equals("SERVING"));
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  @AfterAll
  static void stop() {
    for (Sidecar sidecar : new Sidecar[] {tls, mutual}) {
      if (sidecar != null) {
        sidecar.stop();
      }
    }
    if (engine != null) {
      engine.close();
    }
  }

  @BeforeEach
  void captureLog() {
    log.start();
    root().addAppender(log);
  }

  @AfterEach
  void releaseLog() {
    root().detachAppender(log);
  }

  private static Logger root() {
    return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  }

  private static void install(Issued issued) {
    TestCertificates.install(issued, cert, key);
  }

  private static void replace(Path target, Path source) {
    TestCertificates.replace(target, source);
  }

  /** A gRPC client over TLS trusting the test CA, presenting {@code clientCertificate} if not null. */
  private static HealthClient client(Sidecar sidecar, Issued clientCertificate) {
    return new HealthClient(NettyChannelBuilder.forAddress(sidecar.grpcAddress())
        .sslContext(certs.grpcClientContext(clientCertificate)).build());
  }

  private static HttpResponse<String> https(Sidecar sidecar, String path, Issued clientCertificate)
      throws IOException, InterruptedException {
    return get(certs.jdkClientContext(clientCertificate), "https", sidecar, path);
  }

  private static HttpResponse<String> get(SSLContext context, String scheme, Sidecar sidecar, String path)
      throws IOException, InterruptedException {
    HttpClient client = HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(10)).build();
    URI uri = URI.create(scheme + "://127.0.0.1:" + sidecar.httpAddress().getPort() + path);
    return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private List<String> warningsAndErrors() {
    List<String> lines = new ArrayList<>();
    for (ILoggingEvent event : log.list) {
      if (event.getLevel().isGreaterOrEqual(Level.WARN)) {
        lines.add(event.getLoggerName() + ": " + event.getFormattedMessage());
      }
    }
    return lines;
  }

  @Test
  void tls_grpcAndHttpAnswer_overTlsWithTheServersCertificate() throws Exception {
    try (HealthClient client = client(tls, null)) {
      assertThat(client.check("")).isEqualTo("SERVING");
    }
    HttpResponse<String> healthz = https(tls, "/healthz", null);
    assertThat(healthz.statusCode()).isEqualTo(200);
    assertThat(((X509Certificate) healthz.sslSession().orElseThrow().getPeerCertificates()[0]).getSerialNumber())
        .isEqualTo(TestCertificates.serial(cert));
    assertThat(https(tls, "/v1/health/", null).statusCode()).isEqualTo(200);
  }

  @Test
  void tls_plaintextIsRefused_onBothListeners_withoutWarnings() throws Exception {
    for (int i = 0; i < 10; i++) {
      try (HealthClient plaintext = new HealthClient(
          NettyChannelBuilder.forAddress(tls.grpcAddress()).usePlaintext().build())) {
        assertThat(plaintext.check("")).isEqualTo("UNAVAILABLE");
      }
      assertThatThrownBy(() -> get(SSLContext.getDefault(), "http", tls, "/healthz")).isInstanceOf(IOException.class);
    }

    assertThat(warningsAndErrors()).as("client faults are logged at debug at most").isEmpty();
  }

  @Test
  void mutualTls_clientCertificateOfTheCa_isServed_onBothListeners() throws Exception {
    try (HealthClient client = client(mutual, certs.client())) {
      assertThat(client.check("")).isEqualTo("SERVING");
    }
    assertThat(https(mutual, "/healthz", certs.client()).statusCode()).isEqualTo(200);
    assertThat(certs.servedSerial(mutual.grpcAddress().getPort(), certs.client())).isEqualTo(certs.server().serial());
  }

  @Test
  void mutualTls_noClientCertificate_orOneOfAnotherCa_isRefused_onBothListeners() throws Exception {
    for (Issued refused : new Issued[] {null, certs.otherClient()}) {
      try (HealthClient client = client(mutual, refused)) {
        assertThat(client.check("")).as("gRPC with %s", refused).isEqualTo("UNAVAILABLE");
      }
      // TLS 1.3 finishes the client's side of the handshake before the server checks its certificate:
      // the refusal comes with the first read.
      assertThatThrownBy(() -> https(mutual, "/healthz", refused)).as("HTTP with %s", refused)
          .isInstanceOf(IOException.class);
    }

    assertThat(warningsAndErrors()).as("client faults are logged at debug at most").isEmpty();
  }

  @Test
  void rotation_newFiles_areServedToTheNextConnection_badOnesKeepTheCertificateWithOneWarning() throws Exception {
    int grpcPort = tls.grpcAddress().getPort();
    int httpPort = tls.httpAddress().getPort();
    BigInteger before = TestCertificates.serial(cert);
    assertThat(certs.servedSerial(grpcPort, null)).isEqualTo(before);
    try (HealthClient open = client(tls, null)) {
      assertThat(open.check("")).isEqualTo("SERVING"); // a connection made with the old certificate

      Issued renewed = certs.issueServer("renewed", KeyType.RSA);
      install(renewed);

      assertThat(certs.servedSerial(grpcPort, null)).isEqualTo(renewed.serial());
      assertThat(certs.servedSerial(httpPort, null)).isEqualTo(renewed.serial());
      try (HealthClient client = client(tls, null)) {
        assertThat(client.check("")).isEqualTo("SERVING");
      }
      assertThat(open.check("")).as("open connections go on").isEqualTo("SERVING");

      // Half a rotation: a new certificate whose key is not there yet.
      Issued next = certs.issueServer("next", KeyType.EC);
      replace(cert, next.certificate());
      for (int i = 0; i < 5; i++) {
        assertThat(certs.servedSerial(i % 2 == 0 ? grpcPort : httpPort, null)).isEqualTo(renewed.serial());
      }
      assertThat(warningsAndErrors()).singleElement().satisfies(line -> assertThat(line)
          .contains("TLS files changed but cannot be used")
          .contains("is not the key of the certificate")
          .contains("serial " + renewed.serial().toString(16)));

      replace(key, next.key());
      assertThat(certs.servedSerial(httpPort, null)).isEqualTo(next.serial());
      assertThat(certs.servedSerial(grpcPort, null)).isEqualTo(next.serial());
    } finally {
      install(certs.server());
    }
  }
}
