package io.dockhealth.client;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Collection;

/**
 * Turns {@link TlsOptions} into a Netty {@link SslContext}, failing with the messages
 * grpc_health_probe gives for the same bad files so that scripts see the same text. Loaded only when
 * TLS is asked for: a plaintext probe never touches the JDK's TLS classes.
 */
final class TlsContexts {
  private TlsContexts() {}

  static SslContext create(TlsOptions options) throws TlsConfigException {
    SslContextBuilder builder = GrpcSslContexts.forClient();
    if (options.clientCert().isPresent()) {
      Path certFile = options.clientCert().get();
      Path keyFile = options.clientKey().orElseThrow();
      byte[] cert;
      byte[] key;
      try {
        cert = read(certFile);
        key = read(keyFile);
      } catch (IOException e) {
        throw new TlsConfigException("failed to load tls client cert/key pair. error=" + e.getMessage(), e);
      }
      if (!containsPem(cert)) {
        throw new TlsConfigException("failed to load tls client cert/key pair. error="
            + "tls: failed to find any PEM data in certificate input", null);
      }
      if (!containsPem(key)) {
        throw new TlsConfigException("failed to load tls client cert/key pair. error="
            + "tls: failed to find any PEM data in key input", null);
      }
      try {
        builder.keyManager(new ByteArrayInputStream(cert), new ByteArrayInputStream(key));
      } catch (IllegalArgumentException e) {
        throw new TlsConfigException("failed to load tls client cert/key pair. error=" + e.getMessage()
            + keyFormatHint(key), e);
      }
    }
    if (options.skipVerify()) {
      builder.trustManager(InsecureTrustManagerFactory.INSTANCE);
    } else if (options.caCerts().isPresent()) {
      Path caFile = options.caCerts().get();
      byte[] pem;
      try {
        pem = read(caFile);
      } catch (IOException e) {
        throw new TlsConfigException(
            "failed to load root CA certificates from file (" + caFile + ") error=" + e.getMessage(), e);
      }
      X509Certificate[] roots = certificates(pem);
      if (roots.length == 0) {
        throw new TlsConfigException("no root CA certs parsed from file " + caFile, null);
      }
      builder.trustManager(roots);
    }
    try {
      return builder.build();
    } catch (IOException e) {
      throw new TlsConfigException("failed to set up TLS. error=" + e.getMessage(), e);
    }
  }

  /** Reads a file; failures read like Go's os.ReadFile errors ("open x: no such file or directory"). */
  private static byte[] read(Path file) throws IOException {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException("open " + file + ": no such file or directory", e);
    } catch (AccessDeniedException e) {
      throw new IOException("open " + file + ": permission denied", e);
    } catch (IOException e) {
      if (Files.isDirectory(file)) {
        throw new IOException("read " + file + ": is a directory", e);
      }
      throw new IOException("open " + file + ": " + e.getMessage(), e);
    }
  }

  private static boolean containsPem(byte[] content) {
    return new String(content, StandardCharsets.US_ASCII).contains("-----BEGIN ");
  }

  /** Every certificate in a PEM file; none if it holds none (or nothing parseable), as Go's pool. */
  private static X509Certificate[] certificates(byte[] pem) {
    if (!containsPem(pem)) {
      return new X509Certificate[0];
    }
    try {
      Collection<? extends java.security.cert.Certificate> certs =
          CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
      return certs.stream().filter(X509Certificate.class::isInstance).map(X509Certificate.class::cast)
          .toArray(X509Certificate[]::new);
    } catch (CertificateException e) {
      return new X509Certificate[0];
    }
  }

  /** Go reads PKCS#1 and SEC1 keys; the JDK (without Bouncy Castle) reads only PKCS#8. Say so. */
  private static String keyFormatHint(byte[] key) {
    String text = new String(key, StandardCharsets.US_ASCII);
    if (text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY")) {
      return " (the key is PKCS#1/SEC1 PEM; convert it to PKCS#8 with"
          + " `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`)";
    }
    return "";
  }
}
