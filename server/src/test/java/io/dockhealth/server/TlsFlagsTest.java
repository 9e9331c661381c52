package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.net.TlsFiles;
import io.dockhealth.testing.TestCertificates;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** --tls-cert, --tls-key and --tls-client-ca: checked together, and their files read, before the sidecar starts. */
class TlsFlagsTest {
  private static final String DOCKER = "--docker-host=unix:///run/docker.sock";

  @TempDir static Path dir;
  private static TestCertificates certs;
  private static String cert;
  private static String key;

  @BeforeAll
  static void makeCertificates() {
    certs = TestCertificates.create(dir);
    cert = "--tls-cert=" + certs.server().certificate();
    key = "--tls-key=" + certs.server().key();
  }

  @Test
  void certAndKey_turnTlsOn_clientCaMakesItMutual() {
    assertThat(Main.parseConfig(DOCKER, cert, key).listenerSecurity().tls())
        .contains(new TlsFiles(certs.server().certificate(), certs.server().key(), Optional.empty()));
    assertThat(Main.parseConfig(DOCKER, cert, key, "--tls-client-ca=" + certs.ca()).listenerSecurity().tls())
        .hasValueSatisfying(files -> assertThat(files.clientCa()).contains(certs.ca()));
  }

  @Test
  void flagsWithoutTheirPartner_areRejectedSayingWhatGoesTogether() {
    assertRejected("--tls-cert is given without --tls-key", DOCKER, cert);
    assertRejected("--tls-key is given without --tls-cert", DOCKER, key);
    assertRejected("--tls-client-ca is given without --tls-cert", DOCKER, "--tls-client-ca=" + certs.ca());
  }

  @Test
  void unusableFiles_areRejectedNamingTheFlagTheFileAndTheProblem() throws Exception {
    Path text = Files.writeString(dir.resolve("text.pem"), "hello\n");

    assertRejected("Invalid value for option '--tls-cert': '/no/such.pem' does not exist (expected: a PEM file",
        DOCKER, "--tls-cert=/no/such.pem", key);
    assertRejected("Invalid value for option '--tls-key': '" + certs.client().key() + "' is not the key of the"
        + " certificate in " + certs.server().certificate(), DOCKER, cert, "--tls-key=" + certs.client().key());
    assertRejected("Invalid value for option '--tls-key': '" + text + "' holds no PEM private key", DOCKER, cert,
        "--tls-key=" + text);
    assertRejected("Invalid value for option '--tls-client-ca': '" + text + "' holds no PEM certificate", DOCKER,
        cert, key, "--tls-client-ca=" + text);
  }

  @Test
  void tlsWithBothListenersOnUnixSockets_isRejected() {
    assertRejected("both listeners are unix sockets", DOCKER, cert, key, "--grpc-address=unix:///run/g.sock",
        "--http-address=unix:///run/h.sock");
  }

  @Test
  void execute_badTlsFile_exitsTwoWithOneLine() {
    StringWriter err = new StringWriter();
    CommandLine commandLine = Main.commandLine();
    commandLine.setErr(new PrintWriter(err));

    int exit = commandLine.execute(DOCKER, cert, "--tls-key=" + certs.client().key());

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).startsWith("Invalid value for option '--tls-key'").doesNotContain("Exception")
        .doesNotContain("\tat ");
  }

  private static void assertRejected(String message, String... args) {
    assertThatThrownBy(() -> Main.parseConfig(args))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining(message)
        .hasMessageContaining("expected");
  }
}
