package io.dockhealth.testing;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Certificates for TLS tests, made by {@code openssl} as an operator would (scripts/test installs
 * it): a test CA, a server certificate it signs for {@code 127.0.0.1} and {@code localhost}, a client
 * certificate it signs, and a client certificate of another CA that the server must refuse. Keys are
 * P-256 EC in PKCS#8 PEM, what OpenSSL 3 writes by default.
 *
 * <pre>{@code
 * TestCertificates certs = TestCertificates.create(tempDir);
 * SidecarProcess.builder(engine.host()).tls(certs, true).start();  // --tls-cert, --tls-key, --tls-client-ca
 * TestCertificates.Issued renewed = certs.issueServer("renewed", KeyType.RSA);
 * }</pre>
 */
public final class TestCertificates {
  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(60);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The key of a certificate. */
  public enum KeyType {
    EC, RSA
  }

  /**
   * A certificate and its key, in PEM files.
   *
   * @param serial the certificate's serial number, to tell certificates apart
   */
  public record Issued(Path certificate, Path key, BigInteger serial) {}

  private final Path dir;
  private final Path ca;
  private final Path caKey;
  private final Issued server;
  private final Issued client;
  private final Issued otherClient;
  private final AtomicInteger names = new AtomicInteger();

  private TestCertificates(Path dir) {
    this.dir = dir;
    this.ca = dir.resolve("ca.pem");
    this.caKey = dir.resolve("ca.key");
    selfSigned(ca, caKey, "dockhealth test CA");
    this.server = issueServer("server", KeyType.EC);
    this.client = issue("client", "dockhealth test client", ca, caKey, KeyType.EC,
        "extendedKeyUsage=clientAuth\n");
    Path otherCa = dir.resolve("other-ca.pem");
    Path otherCaKey = dir.resolve("other-ca.key");
    selfSigned(otherCa, otherCaKey, "another CA");
    this.otherClient = issue("other-client", "dockhealth test client", otherCa, otherCaKey, KeyType.EC,
        "extendedKeyUsage=clientAuth\n");
  }

  /** Makes the CAs and certificates in {@code dir} (a few openssl runs, about a second). */
  public static TestCertificates create(Path dir) {
    return new TestCertificates(dir);
  }

  /** The test CA's certificate: the server's trust anchor for clients, and the clients' for the server. */
  public Path ca() {
    return ca;
  }

  /** The server's certificate, for 127.0.0.1 and localhost. */
  public Issued server() {
    return server;
  }

  /** A client certificate of the test CA. */
  public Issued client() {
    return client;
  }

  /** A client certificate of another CA, which a server trusting only {@link #ca()} refuses. */
  public Issued otherClient() {
    return otherClient;
  }

  /** A new server certificate from the test CA, for 127.0.0.1 and localhost, with a serial of its own. */
  public Issued issueServer(String name, KeyType keyType) {
    return issue(name + "-" + names.incrementAndGet(), "localhost", ca, caKey, keyType,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  }

  /**
   * The sidecar's flags for {@link #server()}: {@code --tls-cert}, {@code --tls-key}, and with
   * {@code mutual} {@code --tls-client-ca}.
   */
  public List<String> serverFlags(boolean mutual) {
    List<String> flags = new ArrayList<>(List.of("--tls-cert=" + server.certificate(), "--tls-key=" + server.key()));
    if (mutual) {
      flags.add("--tls-client-ca=" + ca);
    }
    return flags;
  }

  /** A gRPC client context trusting the test CA; with {@code clientCertificate}, presenting {@code client}. */
  public SslContext grpcClientContext(Issued clientCertificate) {
    try {
      SslContextBuilder builder = GrpcSslContexts.forClient().trustManager(ca.toFile());
      if (clientCertificate != null) {
        builder.keyManager(clientCertificate.certificate().toFile(), clientCertificate.key().toFile());
      }
      return builder.build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A JDK context trusting the test CA (for {@code java.net.http.HttpClient}); presenting {@code client} if not null. */
  public SSLContext jdkClientContext(Issued clientCertificate) {
    try {
      SslContextBuilder builder = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).trustManager(ca.toFile());
      if (clientCertificate != null) {
        builder.keyManager(clientCertificate.certificate().toFile(), clientCertificate.key().toFile());
      }
      return ((JdkSslContext) builder.build()).context();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The serial of the certificate a TLS server at {@code 127.0.0.1:port} presents to a new
   * connection (offering h2 and http/1.1, so gRPC and HTTP listeners alike finish the handshake).
   *
   * @throws IOException if the handshake fails (a server that refuses a client certificate under TLS
   *     1.3 says so only after the handshake, at the first read: this does not see it)
   */
  public BigInteger servedSerial(int port, Issued clientCertificate) throws IOException {
    try (SSLSocket socket = (SSLSocket) jdkClientContext(clientCertificate).getSocketFactory()
        .createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setApplicationProtocols(new String[] {"h2", "http/1.1"});
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }
  }

  /**
   * Puts {@code issued} where a server reads its certificate and key, as a rotation does: each file
   * written beside its place, then renamed into it (the certificate first).
   */
  public static void install(Issued issued, Path certificate, Path key) {
    replace(certificate, issued.certificate());
    replace(key, issued.key());
  }

  /** Copies {@code source} over {@code target} by writing beside it and renaming, as a rotation does. */
  public static void replace(Path target, Path source) {
    Path next = target.resolveSibling(target.getFileName() + ".next");
    try {
      Files.copy(source, next, StandardCopyOption.REPLACE_EXISTING);
      Files.move(next, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The serial of the (first) certificate in a PEM file. */
  public static BigInteger serial(Path certificate) {
    try {
      return ((X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certificate)))).getSerialNumber();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("not a certificate: " + certificate, e);
    }
  }

  private void selfSigned(Path certificate, Path key, String commonName) {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key.toString(), "-out", certificate.toString(), "-days", "2", "-subj", "/CN=" + commonName,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
  }

  private Issued issue(String name, String commonName, Path issuer, Path issuerKey, KeyType keyType,
      String extensions) {
    Path key = dir.resolve(name + ".key");
    Path request = dir.resolve(name + ".csr");
    Path certificate = dir.resolve(name + ".pem");
    Path extensionFile = dir.resolve(name + ".ext");
    List<String> newKey = keyType == KeyType.EC
        ? List.of("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")
        : List.of("-newkey", "rsa:2048");
    List<String> req = new ArrayList<>(List.of("req"));
    req.addAll(newKey);
    req.addAll(List.of("-nodes", "-keyout", key.toString(), "-out", request.toString(), "-subj", "/CN=" + commonName));
    openssl(req.toArray(String[]::new));
    BigInteger serial = new BigInteger(63, RANDOM).add(BigInteger.ONE);
    try {
      Files.writeString(extensionFile, "basicConstraints=CA:FALSE\n" + extensions);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    openssl("x509", "-req", "-in", request.toString(), "-CA", issuer.toString(), "-CAkey", issuerKey.toString(),
        "-set_serial", serial.toString(), "-days", "2", "-extfile", extensionFile.toString(),
        "-out", certificate.toString());
    return new Issued(certificate, key, serial);
  }

  private void openssl(String... args) {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    Command.run(dir, OPENSSL_TIMEOUT, command.toArray(String[]::new)).orThrow();
  }
}
