package io.dockhealth.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.dockhealth.testing.TestCertificates;
import io.dockhealth.testing.TestCertificates.Issued;
import io.dockhealth.testing.TestCertificates.KeyType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Loading and reloading the TLS files, with certificates made by openssl. */
class ServerTlsTest {
  @TempDir static Path pki;
  private static TestCertificates certs;

  @TempDir Path dir;
  private Path cert;
  private Path key;
  private final ListAppender<ILoggingEvent> log = new ListAppender<>();

  @BeforeAll
  static void makeCertificates() {
    certs = TestCertificates.create(pki);
  }

  @BeforeEach
  void copyServerFiles() throws IOException {
    cert = dir.resolve("cert.pem");
    key = dir.resolve("key.pem");
    install(certs.server());
    log.start();
    ((Logger) LoggerFactory.getLogger(ServerTls.class)).addAppender(log);
  }

  @AfterEach
  void detachLog() {
    ((Logger) LoggerFactory.getLogger(ServerTls.class)).detachAppender(log);
  }

  private void install(Issued issued) {
    TestCertificates.install(issued, cert, key);
  }

  private static void replace(Path target, Path source) {
    TestCertificates.replace(target, source);
  }

  private TlsFiles files() {
    return new TlsFiles(cert, key, Optional.empty());
  }

  private List<String> warnings() {
    return log.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void load_pemCertificateAndPkcs8Key_servesThatCertificate() throws Exception {
    ServerTls tls = ServerTls.load(files());

    assertThat(tls.certificate().getSerialNumber()).isEqualTo(certs.server().serial());
    assertThat(tls.clientCertificatesRequired()).isFalse();
    assertThat(log.list).singleElement().satisfies(e -> assertThat(e.getFormattedMessage())
        .startsWith("TLS: serving certificate serial " + certs.server().serial().toString(16)));
  }

  @Test
  void load_rsaKeyAndClientCa_isTakenToo() throws Exception {
    install(certs.issueServer("rsa", KeyType.RSA));

    ServerTls tls = ServerTls.load(new TlsFiles(cert, key, Optional.of(certs.ca())));

    assertThat(tls.certificate().getPublicKey().getAlgorithm()).isEqualTo("RSA");
    assertThat(tls.clientCertificatesRequired()).isTrue();
  }

  @Test
  void load_unusableFiles_nameTheFileAndWhatIsWrong() throws Exception {
    Path missing = dir.resolve("missing.pem");
    Path pkcs1 = Files.writeString(dir.resolve("pkcs1.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    Path encrypted = Files.writeString(dir.resolve("encrypted.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
    Path text = Files.writeString(dir.resolve("text.pem"), "not a PEM file\n");
    Path other = certs.client().key();

    assertProblem(new TlsFiles(missing, key, Optional.empty()), TlsFiles.Role.CERTIFICATE, "does not exist");
    assertProblem(new TlsFiles(dir, key, Optional.empty()), TlsFiles.Role.CERTIFICATE, "is a directory");
    assertProblem(new TlsFiles(key, key, Optional.empty()), TlsFiles.Role.CERTIFICATE, "holds no PEM certificate");
    assertProblem(new TlsFiles(cert, cert, Optional.empty()), TlsFiles.Role.KEY, "holds no PEM private key");
    assertProblem(new TlsFiles(cert, pkcs1, Optional.empty()), TlsFiles.Role.KEY, "openssl pkcs8 -topk8 -nocrypt");
    assertProblem(new TlsFiles(cert, encrypted, Optional.empty()), TlsFiles.Role.KEY, "is encrypted");
    assertProblem(new TlsFiles(cert, other, Optional.empty()), TlsFiles.Role.KEY,
        "is not the key of the certificate in " + cert);
    assertProblem(new TlsFiles(cert, key, Optional.of(text)), TlsFiles.Role.CLIENT_CA, "holds no PEM certificate");
  }

  private static void assertProblem(TlsFiles files, TlsFiles.Role role, String problem) {
    assertThatThrownBy(() -> ServerTls.load(files))
        .isInstanceOfSatisfying(TlsFileException.class, e -> {
          assertThat(e.role()).isEqualTo(role);
          assertThat(e.problem()).contains(problem);
          assertThat(e.getMessage()).startsWith(role.noun() + " file " + e.file() + ": ");
        });
  }

  @Test
  void reloadIfChanged_unchangedFiles_readsNothing_changedFiles_serveTheNewCertificate() throws Exception {
    ServerTls tls = ServerTls.load(files());
    assertThat(tls.reloadIfChanged()).isFalse();

    Issued renewed = certs.issueServer("renewed", KeyType.EC);
    install(renewed);

    assertThat(tls.reloadIfChanged()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(renewed.serial());
    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(log.list).last().satisfies(e -> assertThat(e.getFormattedMessage())
        .startsWith("TLS: reloaded, serving certificate serial " + renewed.serial().toString(16)));
  }

  @Test
  void reloadIfChanged_filesThatFail_keepTheCertificate_warnOnce_untilTheyChangeAgain() throws Exception {
    ServerTls tls = ServerTls.load(files());
    Issued renewed = certs.issueServer("renewed", KeyType.EC);

    replace(cert, renewed.certificate()); // the certificate is renewed, its key not written yet
    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(certs.server().serial());
    assertThat(warnings()).singleElement().satisfies(w -> assertThat(w)
        .contains("private key file " + key + ": is not the key of the certificate")
        .contains("keep getting certificate serial " + certs.server().serial().toString(16)));

    replace(key, renewed.key());
    assertThat(tls.reloadIfChanged()).isTrue();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(renewed.serial());
    assertThat(warnings()).hasSize(1);
  }

  @Test
  void reloadIfChanged_fileRemovedMidRotation_keepsTheCertificate() throws Exception {
    ServerTls tls = ServerTls.load(files());
    Files.delete(key);

    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(tls.certificate().getSerialNumber()).isEqualTo(certs.server().serial());
    assertThat(warnings()).singleElement().satisfies(w -> assertThat(w).contains("does not exist"));
  }
}
