package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkNotNull;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The PEM files of the server's TLS identity and, for mutual TLS, of the certificate authorities
 * whose client certificates it accepts. {@link ServerTls} reads them, at start and whenever they
 * change.
 *
 * @param certificate the server's certificate chain, its own certificate first
 * @param key the private key of that certificate, PKCS#8 ({@code BEGIN PRIVATE KEY})
 * @param clientCa the CA certificates that sign client certificates; when present, every client
 *     must present one
 */
public record TlsFiles(Path certificate, Path key, Optional<Path> clientCa) {
  public TlsFiles {
    checkNotNull(certificate, "certificate");
    checkNotNull(key, "key");
    checkNotNull(clientCa, "clientCa");
  }

  /** One of the files, for messages that say which is wrong. */
  public enum Role {
    CERTIFICATE("certificate", "a PEM file of the server's certificate (BEGIN CERTIFICATE), then its"
        + " intermediate CAs if any"),
    KEY("private key", "the PEM private key of the certificate, unencrypted PKCS#8 (BEGIN PRIVATE KEY)"),
    CLIENT_CA("client CA", "a PEM file of the CA certificates (BEGIN CERTIFICATE) that sign client certificates");

    private final String noun;
    private final String expected;

    Role(String noun, String expected) {
      this.noun = noun;
      this.expected = expected;
    }

    /** "certificate", "private key", "client CA". */
    public String noun() {
      return noun;
    }

    /** What a good file of this role holds. */
    public String expected() {
      return expected;
    }
  }

  /** The file of a role; empty for the client CA when there is none. */
  public Optional<Path> file(Role role) {
    return switch (role) {
      case CERTIFICATE -> Optional.of(certificate);
      case KEY -> Optional.of(key);
      case CLIENT_CA -> clientCa;
    };
  }
}
