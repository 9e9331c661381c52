package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.annotations.VisibleForTesting;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.annotation.Nullable;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the front ends from {@link TlsFiles}, which may be replaced while the sidecar runs (a
 * certificate renewed by certbot, cert-manager or a cron job) without a restart.
 *
 * <p>Every new connection first asks whether the files changed since they were last read: one
 * {@code stat} per file (modification time, size, inode), so a rotation is seen by the very next
 * connection and costs nothing meanwhile. Changed files are read and checked whole (certificate,
 * key that matches it, client CAs) and installed together; connections already open keep the
 * certificate they were made with. Files that fail the check (a rotation caught half-written, a
 * key for another certificate) leave the current certificate in place with one warning, and are
 * tried again when they change again.
 *
 * <pre>{@code
 * ServerTls tls = ServerTls.load(new TlsFiles(cert, key, Optional.of(clientCa)));
 * SslContext grpc = tls.context(GrpcSslContexts::configure);   // h2 over ALPN, gRPC's ciphers
 * SslContext http = tls.context(UnaryOperator.identity());
 * }</pre>
 */
public final class ServerTls {
  private static final Logger logger = LoggerFactory.getLogger(ServerTls.class);

  /** PEM files are a few KiB; anything this large is not one. */
  private static final int MAX_FILE_BYTES = 1 << 20;

  private static final Pattern PKCS8 =
      Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

  /** Key algorithms as KeyFactory names them, each with a signature that proves a key pair matches. */
  private static final List<String[]> KEY_ALGORITHMS = List.of(
      new String[] {"RSA", "SHA256withRSA"},
      new String[] {"EC", "SHA256withECDSA"},
      new String[] {"EdDSA", "EdDSA"});

  private final TlsFiles files;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  @Nullable private final AdvancedTlsX509TrustManager clientRoots;
  private final Object reloadLock = new Object();

  /** The files' stamps when they were last read, whether that worked or not; written under reloadLock. */
  private volatile List<Object> readStamps;

  private volatile X509Certificate certificate;

  private ServerTls(TlsFiles files) {
    this.files = checkNotNull(files, "files");
    this.clientRoots = files.clientCa().isPresent() ? clientRoots() : null;
  }

  /** A trust manager for client certificates: the chain is checked, not the client's name. */
  private static AdvancedTlsX509TrustManager clientRoots() {
    try {
      return AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
          .build();
    } catch (CertificateException e) {
      throw new IllegalStateException("the JDK has no X.509 trust manager", e);
    }
  }

  /**
   * Reads and checks the files.
   *
   * @throws TlsFileException naming the file that cannot be used and why
   */
  public static ServerTls load(TlsFiles files) throws TlsFileException {
    ServerTls tls = new ServerTls(files);
    List<Object> stamps = stamps(files);
    tls.install(Credentials.read(files));
    tls.readStamps = stamps;
    return tls;
  }

  /**
   * Reads and checks the files, as {@link #load} does, without serving them: the flags are checked
   * with it before the sidecar starts.
   *
   * @throws TlsFileException naming the file that cannot be used and why
   */
  public static void check(TlsFiles files) throws TlsFileException {
    Credentials.read(files);
  }

  /**
   * A Netty context of these credentials, for one front end: {@code protocol} adds what the
   * protocol needs (gRPC: {@code GrpcSslContexts::configure}). Client certificates are required
   * when there are client CAs. Each connection it makes first reloads changed files.
   */
  public SslContext context(UnaryOperator<SslContextBuilder> protocol) throws SSLException {
    SslContextBuilder builder = SslContextBuilder.forServer(keys);
    if (clientRoots != null) {
      builder.trustManager(clientRoots).clientAuth(ClientAuth.REQUIRE);
    }
    return new ReloadingContext(protocol.apply(builder).build());
  }

  /** Whether clients must present a certificate signed by one of the client CAs. */
  public boolean clientCertificatesRequired() {
    return clientRoots != null;
  }

  /** The certificate new connections are served now. */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * Reads the files again if any changed since they were last read; keeps the current credentials
   * (and says so once) if they cannot be used.
   *
   * @return whether new credentials were installed
   */
  @VisibleForTesting
  boolean reloadIfChanged() {
    List<Object> stamps = stamps(files);
    if (stamps.equals(readStamps)) {
      return false;
    }
    synchronized (reloadLock) {
      if (stamps.equals(readStamps)) {
        return false;
      }
      readStamps = stamps;
      try {
        install(Credentials.read(files));
        return true;
      } catch (TlsFileException e) {
        logger.warn("TLS files changed but cannot be used ({}); new connections keep getting certificate {}"
            + " until the files change again", e.getMessage(), describe(certificate));
        return false;
      } catch (RuntimeException e) {
        logger.warn("TLS files changed but cannot be used ({}); new connections keep getting certificate {}"
            + " until the files change again", e.toString(), describe(certificate));
        return false;
      }
    }
  }

  private void install(Credentials credentials) throws TlsFileException {
    if (clientRoots != null) {
      try {
        clientRoots.updateTrustCredentials(credentials.clientCas());
      } catch (IOException | GeneralSecurityException e) {
        throw new TlsFileException(TlsFiles.Role.CLIENT_CA, files.clientCa().orElseThrow(),
            "cannot be used as trust anchors: " + e.getMessage());
      }
    }
    keys.updateIdentityCredentials(credentials.chain(), credentials.key());
    X509Certificate leaf = credentials.chain()[0];
    boolean first = certificate == null;
    certificate = leaf;
    logger.info("TLS: {} certificate {} from {}{}", first ? "serving" : "reloaded, serving", describe(leaf),
        files.certificate(), clientRoots == null ? "" : "; client certificates required, signed by "
            + credentials.clientCas().length + " CA certificate(s) from " + files.clientCa().orElseThrow());
    Instant now = Instant.now();
    if (now.isAfter(leaf.getNotAfter().toInstant()) || now.isBefore(leaf.getNotBefore().toInstant())) {
      logger.warn("TLS: certificate {} is not valid now: clients will refuse it", describe(leaf));
    }
  }

  /** "serial 4f2a (CN=dockhealth, valid until 2027-05-04T10:00:00Z)". */
  static String describe(X509Certificate certificate) {
    return "serial " + certificate.getSerialNumber().toString(16) + " (" + certificate.getSubjectX500Principal().getName()
        + ", valid until " + certificate.getNotAfter().toInstant() + ")";
  }

  /** What a stat says of each file: any change to one of them changes the list. */
  private static List<Object> stamps(TlsFiles files) {
    List<Object> stamps = new ArrayList<>();
    for (TlsFiles.Role role : TlsFiles.Role.values()) {
      files.file(role).ifPresent(file -> {
        try {
          BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
          stamps.add(List.of(attributes.lastModifiedTime(), attributes.size(),
              String.valueOf(attributes.fileKey())));
        } catch (IOException e) {
          stamps.add(e.getClass().getName()); // missing for now, say mid-rotation: a stamp too
        }
      });
    }
    return stamps;
  }

  /** The context, checking the files whenever it sets up a new connection. */
  private final class ReloadingContext extends DelegatingSslContext {
    ReloadingContext(SslContext context) {
      super(context);
    }

    @Override
    protected void initEngine(SSLEngine engine) {
      reloadIfChanged();
    }
  }

  /** The contents of the files, checked. */
  private record Credentials(PrivateKey key, X509Certificate[] chain, X509Certificate[] clientCas) {
    static Credentials read(TlsFiles files) throws TlsFileException {
      X509Certificate[] chain = certificates(TlsFiles.Role.CERTIFICATE, files.certificate());
      PrivateKey key = privateKey(files.key());
      if (!matches(key, chain[0])) {
        throw new TlsFileException(TlsFiles.Role.KEY, files.key(), "is not the key of the certificate in "
            + files.certificate() + " (" + describe(chain[0]) + ")");
      }
      X509Certificate[] clientCas = new X509Certificate[0];
      if (files.clientCa().isPresent()) {
        clientCas = certificates(TlsFiles.Role.CLIENT_CA, files.clientCa().get());
      }
      return new Credentials(key, chain, clientCas);
    }

    private static byte[] read(TlsFiles.Role role, Path file) throws TlsFileException {
      try {
        if (Files.isDirectory(file)) {
          throw new TlsFileException(role, file, "is a directory");
        }
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
          throw new TlsFileException(role, file, "has " + size + " bytes, too many for a PEM file");
        }
        return Files.readAllBytes(file);
      } catch (NoSuchFileException e) {
        throw new TlsFileException(role, file, "does not exist");
      } catch (AccessDeniedException e) {
        throw new TlsFileException(role, file, "cannot be read: permission denied");
      } catch (IOException e) {
        throw new TlsFileException(role, file, "cannot be read: " + e.getMessage());
      }
    }

    private static X509Certificate[] certificates(TlsFiles.Role role, Path file) throws TlsFileException {
      byte[] pem = read(role, file);
      if (!new String(pem, StandardCharsets.US_ASCII).contains("-----BEGIN CERTIFICATE-----")) {
        throw new TlsFileException(role, file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
      }
      try {
        X509Certificate[] certificates = CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(pem)).stream()
            .map(X509Certificate.class::cast)
            .toArray(X509Certificate[]::new);
        if (certificates.length == 0) {
          throw new TlsFileException(role, file, "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return certificates;
      } catch (CertificateException e) {
        throw new TlsFileException(role, file, "holds a certificate that cannot be parsed: " + e.getMessage());
      }
    }

    private static PrivateKey privateKey(Path file) throws TlsFileException {
      String pem = new String(read(TlsFiles.Role.KEY, file), StandardCharsets.US_ASCII);
      if (pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        throw new TlsFileException(TlsFiles.Role.KEY, file, "is encrypted, and the sidecar asks for no passphrase;"
            + " decrypt it with `openssl pkcs8 -in KEY -out KEY.pk8`");
      }
      if (pem.contains("-----BEGIN RSA PRIVATE KEY-----") || pem.contains("-----BEGIN EC PRIVATE KEY-----")) {
        throw new TlsFileException(TlsFiles.Role.KEY, file, "is PKCS#1 or SEC1 PEM; convert it to PKCS#8 with"
            + " `openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8`");
      }
      Matcher block = PKCS8.matcher(pem);
      if (!block.find()) {
        throw new TlsFileException(TlsFiles.Role.KEY, file, "holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
      }
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(block.group(1));
      } catch (IllegalArgumentException e) {
        throw new TlsFileException(TlsFiles.Role.KEY, file, "holds a private key that is not base64: " + e.getMessage());
      }
      for (String[] algorithm : KEY_ALGORITHMS) {
        try {
          return KeyFactory.getInstance(algorithm[0]).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
          // Not this algorithm; try the next.
        }
      }
      throw new TlsFileException(TlsFiles.Role.KEY, file, "holds a private key that cannot be parsed"
          + " (expected: an RSA, EC or Ed25519 key)");
    }

    /** Whether {@code key} signs what the certificate's public key verifies. */
    private static boolean matches(PrivateKey key, X509Certificate certificate) {
      Optional<String> signature = KEY_ALGORITHMS.stream()
          .filter(a -> a[0].equals(key.getAlgorithm()))
          .map(a -> a[1])
          .findFirst();
      byte[] probe = "dockhealth key check".getBytes(StandardCharsets.US_ASCII);
      try {
        Signature signer = Signature.getInstance(signature.orElseThrow());
        signer.initSign(key);
        signer.update(probe);
        byte[] signed = signer.sign();
        Signature verifier = Signature.getInstance(signature.orElseThrow());
        verifier.initVerify(certificate.getPublicKey());
        verifier.update(probe);
        return verifier.verify(signed);
      } catch (GeneralSecurityException e) {
        return false; // a public key of another algorithm: not this key's certificate
      }
    }
  }
}
