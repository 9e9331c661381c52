package io.dockhealth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS files that load, and the messages (grpc_health_probe's) for those that do not. */
class TlsContextsTest {
  @TempDir static Path dir;
  private static Path caPem;

  /** A real self-signed certificate, made with the JDK's keytool. */
  @BeforeAll
  static void makeCertificate() throws Exception {
    Path keystore = dir.resolve("ca.p12");
    caPem = dir.resolve("ca.pem");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    run(keytool, "-genkeypair", "-alias", "ca", "-keyalg", "EC", "-dname", "CN=dockhealth-test-ca",
        "-validity", "2", "-keystore", keystore.toString(), "-storepass", "changeit", "-storetype", "PKCS12");
    run(keytool, "-exportcert", "-rfc", "-alias", "ca", "-keystore", keystore.toString(), "-storepass", "changeit",
        "-file", caPem.toString());
  }

  private static void run(String... command) throws Exception {
    Process process = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(new String(process.getInputStream().readAllBytes())).isZero();
  }

  @Test
  void caCerts_realPem_loads() throws Exception {
    assertThat(TlsContexts.create(TlsOptions.verifyingServer().withCaCerts(caPem)).isClient()).isTrue();
  }

  @Test
  void defaultsAndNoVerify_load() throws Exception {
    assertThat(TlsContexts.create(TlsOptions.verifyingServer()).isClient()).isTrue();
    assertThat(TlsContexts.create(TlsOptions.insecureSkipVerify()).isClient()).isTrue();
  }

  @Test
  void caCerts_missingFile_saysSoLikeGo() {
    Path missing = dir.resolve("missing.pem");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withCaCerts(missing)))
        .isInstanceOf(TlsConfigException.class)
        .hasMessage("failed to load root CA certificates from file (" + missing + ") error=open " + missing
            + ": no such file or directory");
  }

  @Test
  void caCerts_directory_saysSoLikeGo() {
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withCaCerts(dir)))
        .isInstanceOf(TlsConfigException.class)
        .hasMessage("failed to load root CA certificates from file (" + dir + ") error=read " + dir + ": is a directory");
  }

  @Test
  void caCerts_noCertificateInside_saysSoLikeGo() throws Exception {
    Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");
    Path brokenPem = Files.writeString(dir.resolve("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withCaCerts(garbage)))
        .isInstanceOf(TlsConfigException.class).hasMessage("no root CA certs parsed from file " + garbage);
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withCaCerts(brokenPem)))
        .isInstanceOf(TlsConfigException.class).hasMessage("no root CA certs parsed from file " + brokenPem);
  }

  @Test
  void clientCertificate_missingOrEmptyFiles_sayWhich() throws Exception {
    Path missing = dir.resolve("client-missing.pem");
    Path empty = Files.writeString(dir.resolve("empty.pem"), "");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withClientCertificate(missing, caPem)))
        .isInstanceOf(TlsConfigException.class)
        .hasMessage("failed to load tls client cert/key pair. error=open " + missing + ": no such file or directory");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withClientCertificate(empty, caPem)))
        .hasMessage("failed to load tls client cert/key pair. error=tls: failed to find any PEM data in certificate input");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withClientCertificate(caPem, empty)))
        .hasMessage("failed to load tls client cert/key pair. error=tls: failed to find any PEM data in key input");
  }

  @Test
  void clientKey_pkcs1_saysHowToConvert() throws Exception {
    Path pkcs1 = Files.writeString(dir.resolve("key-pkcs1.pem"),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
            + "-----END RSA PRIVATE KEY-----\n");
    assertThatThrownBy(() -> TlsContexts.create(TlsOptions.verifyingServer().withClientCertificate(caPem, pkcs1)))
        .isInstanceOf(TlsConfigException.class)
        .hasMessageStartingWith("failed to load tls client cert/key pair. error=")
        .hasMessageContaining("openssl pkcs8 -topk8 -nocrypt");
  }

  @Test
  void options_combinationsGrpcHealthProbeRefuses_refused() {
    assertThatThrownBy(() -> TlsOptions.insecureSkipVerify().withCaCerts(caPem))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: none with skipVerify");
    assertThatThrownBy(() -> TlsOptions.insecureSkipVerify().withServerName("x"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected: none with skipVerify");
    assertThatThrownBy(() -> TlsOptions.verifyingServer().withServerName(""))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
