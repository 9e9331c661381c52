package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * How a client speaks TLS to the sidecar, the same choices grpc_health_probe's {@code -tls-*} flags
 * offer. Start from {@link #verifyingServer()} (the JDK's trusted roots) and refine:
 *
 * <pre>{@code
 * TlsOptions tls = TlsOptions.verifyingServer()
 *     .withCaCerts(Path.of("/etc/dockhealth/ca.pem"))
 *     .withClientCertificate(Path.of("client.pem"), Path.of("client-key.pem"))
 *     .withServerName("dockhealth.internal");
 * }</pre>
 *
 * <p>Files are read when the options are given to {@link DockhealthClient.Builder#tls}. Private keys
 * must be PKCS#8 PEM ({@code BEGIN PRIVATE KEY}); {@code openssl pkcs8 -topk8 -nocrypt} converts
 * older PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) and SEC1 ({@code BEGIN EC PRIVATE KEY}) files.
 *
 * @param skipVerify accept any server certificate (INSECURE; for tests)
 * @param caCerts PEM file of the certificates to trust instead of the JDK's roots
 * @param clientCert PEM certificate chain to authenticate with (mutual TLS); needs {@code clientKey}
 * @param clientKey PEM PKCS#8 private key of {@code clientCert}
 * @param serverName the name to verify the server's certificate against (and send as :authority,
 *     as grpc-go does) instead of the address's host
 */
public record TlsOptions(
    boolean skipVerify,
    Optional<Path> caCerts,
    Optional<Path> clientCert,
    Optional<Path> clientKey,
    Optional<String> serverName) {

  public TlsOptions {
    checkNotNull(caCerts, "caCerts");
    checkNotNull(clientCert, "clientCert");
    checkNotNull(clientKey, "clientKey");
    checkNotNull(serverName, "serverName");
    checkArgument(clientCert.isPresent() == clientKey.isPresent(),
        "clientCert and clientKey: %s, %s (expected: both or neither)", clientCert, clientKey);
    // The same combinations grpc_health_probe refuses: the setting would be silently ignored.
    checkArgument(!(skipVerify && caCerts.isPresent()), "caCerts: %s (expected: none with skipVerify)", caCerts);
    checkArgument(!(skipVerify && serverName.isPresent()),
        "serverName: %s (expected: none with skipVerify)", serverName);
    checkArgument(serverName.map(n -> !n.isEmpty()).orElse(true), "serverName: \"\" (expected: a name)");
  }

  /** TLS that verifies the server's certificate against the JDK's trusted roots. */
  public static TlsOptions verifyingServer() {
    return new TlsOptions(false, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
  }

  /** TLS that accepts any server certificate: encrypted, but not authenticated (INSECURE). */
  public static TlsOptions insecureSkipVerify() {
    return new TlsOptions(true, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
  }

  /** These options, trusting the certificates in {@code pemFile} instead of the JDK's roots. */
  public TlsOptions withCaCerts(Path pemFile) {
    return new TlsOptions(skipVerify, Optional.of(pemFile), clientCert, clientKey, serverName);
  }

  /** These options, authenticating with a client certificate (mutual TLS). */
  public TlsOptions withClientCertificate(Path certPem, Path keyPem) {
    return new TlsOptions(skipVerify, caCerts, Optional.of(certPem), Optional.of(keyPem), serverName);
  }

  /** These options, verifying the server's certificate against {@code name}. */
  public TlsOptions withServerName(String name) {
    return new TlsOptions(skipVerify, caCerts, clientCert, clientKey, Optional.of(name));
  }
}
