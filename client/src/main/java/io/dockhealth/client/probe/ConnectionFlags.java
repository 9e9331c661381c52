package io.dockhealth.client.probe;

import com.google.common.base.Stopwatch;
import io.dockhealth.client.DockhealthClient;
import io.dockhealth.client.TlsConfigException;
import io.dockhealth.client.TlsOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The flags every command shares: where to connect and how, named and checked exactly as
 * grpc_health_probe's (single dash like Go's flag package, {@code -addr=x} or {@code -addr x}, and
 * the double-dash spelling Go accepts too).
 */
final class ConnectionFlags {
  @Option(names = {"-addr", "--addr"}, order = 0, paramLabel = "HOST:PORT", defaultValue = "",
      description = "(required) where the server listens: host:port (:port is this machine),"
          + " unix:///path/to/socket, or a gRPC target URI (dns:///host:port)")
  String addr;

  @Option(names = {"-connect-timeout", "--connect-timeout"}, order = 2, paramLabel = "DURATION", defaultValue = "1s",
      converter = GoDuration.Converter.class,
      description = "how long to wait for the connection, e.g. 250ms, 2s, 1m (default: 1s)")
  Duration connectTimeout;

  @Option(names = {"-rpc-timeout", "--rpc-timeout"}, order = 3, paramLabel = "DURATION", defaultValue = "1s",
      converter = GoDuration.Converter.class,
      description = "how long to wait for the answer once connected (default: 1s)")
  Duration rpcTimeout;

  @Option(names = {"-rpc-header", "--rpc-header"}, order = 4, paramLabel = "'NAME: VALUE'",
      converter = RpcHeader.Converter.class,
      description = "an extra header for the RPC, 'name: value'; repeat the flag for more")
  List<RpcHeader> rpcHeaders = new ArrayList<>();

  @Option(names = {"-user-agent", "--user-agent"}, order = 5, paramLabel = "TEXT", defaultValue = "dockhealth-probe",
      description = "the user-agent header of the RPC (default: dockhealth-probe)")
  String userAgent;

  @Option(names = {"-gzip", "--gzip"}, order = 6, arity = "0..1", paramLabel = "BOOL",
      description = "compress the request with gzip; gzip answers are always accepted (default: false)")
  boolean gzip;

  @Option(names = {"-tls", "--tls"}, order = 10, arity = "0..1", paramLabel = "BOOL",
      description = "speak TLS (default: false, plaintext: INSECURE)")
  boolean tls;

  @Option(names = {"-tls-no-verify", "--tls-no-verify"}, order = 11, arity = "0..1", paramLabel = "BOOL",
      description = "(with -tls) accept any server certificate, unverified: INSECURE (default: false)")
  boolean tlsNoVerify;

  @Option(names = {"-tls-ca-cert", "--tls-ca-cert"}, order = 12, paramLabel = "FILE", defaultValue = "",
      description = "(with -tls, optional) PEM file of the certificates that may sign the server's,"
          + " instead of the system's")
  String tlsCaCert;

  @Option(names = {"-tls-client-cert", "--tls-client-cert"}, order = 13, paramLabel = "FILE", defaultValue = "",
      description = "(with -tls, optional) PEM certificate to authenticate this client with"
          + " (needs -tls-client-key)")
  String tlsClientCert;

  @Option(names = {"-tls-client-key", "--tls-client-key"}, order = 14, paramLabel = "FILE", defaultValue = "",
      description = "(with -tls) PEM PKCS#8 private key of -tls-client-cert (needs -tls-client-cert)")
  String tlsClientKey;

  @Option(names = {"-tls-server-name", "--tls-server-name"}, order = 15, paramLabel = "NAME", defaultValue = "",
      description = "(with -tls) the name to verify the server's certificate against, instead of"
          + " the host in -addr")
  String tlsServerName;

  @Option(names = {"-v", "--v"}, order = 20, arity = "0..1", paramLabel = "BOOL",
      description = "verbose: print the options, the connection and the timings")
  boolean verbose;

  /** grpc_health_probe's checks, in its order and words. */
  void validate(PrintWriter err) throws ProbeExit {
    if (addr.isEmpty()) {
      fail(err, "-addr not specified");
    }
    if (connectTimeout.isNegative() || connectTimeout.isZero()) {
      fail(err, "-connect-timeout must be greater than zero (specified: " + GoDuration.format(connectTimeout) + ")");
    }
    if (rpcTimeout.isNegative() || rpcTimeout.isZero()) {
      fail(err, "-rpc-timeout must be greater than zero (specified: " + GoDuration.format(rpcTimeout) + ")");
    }
    if (!tls && tlsNoVerify) {
      fail(err, "specified -tls-no-verify without specifying -tls");
    }
    if (!tls && !tlsCaCert.isEmpty()) {
      fail(err, "specified -tls-ca-cert without specifying -tls");
    }
    if (!tls && !tlsClientCert.isEmpty()) {
      fail(err, "specified -tls-client-cert without specifying -tls");
    }
    if (!tls && !tlsServerName.isEmpty()) {
      fail(err, "specified -tls-server-name without specifying -tls");
    }
    if (!tlsClientCert.isEmpty() && tlsClientKey.isEmpty()) {
      fail(err, "specified -tls-client-cert without specifying -tls-client-key");
    }
    if (tlsClientCert.isEmpty() && !tlsClientKey.isEmpty()) {
      fail(err, "specified -tls-client-key without specifying -tls-client-cert");
    }
    if (tlsNoVerify && !tlsCaCert.isEmpty()) {
      fail(err, "cannot specify -tls-ca-cert with -tls-no-verify (CA cert would not be used)");
    }
    if (tlsNoVerify && !tlsServerName.isEmpty()) {
      fail(err, "cannot specify -tls-server-name with -tls-no-verify (server name would not be used)");
    }
    if (verbose) {
      err.println("parsed options:");
      err.println("> addr=" + addr + " conn_timeout=" + GoDuration.format(connectTimeout)
          + " rpc_timeout=" + GoDuration.format(rpcTimeout));
      if (!rpcHeaders.isEmpty()) {
        err.println("> headers=" + rpcHeaders);
      }
      err.println("> tls=" + tls);
      if (tls) {
        err.println("  > no-verify=" + tlsNoVerify + " ");
        err.println("  > ca-cert=" + tlsCaCert);
        err.println("  > client-cert=" + tlsClientCert);
        err.println("  > client-key=" + tlsClientKey);
        err.println("  > server-name=" + tlsServerName);
      }
    }
  }

  private static void fail(PrintWriter err, String message) throws ProbeExit {
    err.println("error: " + message);
    throw new ProbeExit(ExitCode.INVALID_ARGUMENTS);
  }

  /** A client for these flags whose connection is ready; exits 1 or 2 the way grpc_health_probe does. */
  Connected connect(PrintWriter err) throws ProbeExit {
    DockhealthClient.Builder builder;
    try {
      builder = DockhealthClient.newBuilder(addr);
    } catch (IllegalArgumentException e) {
      err.println("error: failed to connect service at " + GoText.quote(addr) + ": " + e.getMessage());
      throw new ProbeExit(ExitCode.CONNECTION_FAILURE);
    }
    builder.deadline(rpcTimeout).userAgent(userAgent).gzip(gzip);
    try {
      for (RpcHeader header : rpcHeaders) {
        builder.header(header.name(), header.value());
      }
    } catch (IllegalArgumentException e) {
      err.println("error: invalid -rpc-header: " + e.getMessage());
      throw new ProbeExit(ExitCode.INVALID_ARGUMENTS);
    }
    if (tls) {
      TlsOptions options = tlsNoVerify ? TlsOptions.insecureSkipVerify() : TlsOptions.verifyingServer();
      if (!tlsCaCert.isEmpty()) {
        options = options.withCaCerts(Path.of(tlsCaCert));
      }
      if (!tlsClientCert.isEmpty()) {
        options = options.withClientCertificate(Path.of(tlsClientCert), Path.of(tlsClientKey));
      }
      if (!tlsServerName.isEmpty()) {
        options = options.withServerName(tlsServerName);
      }
      try {
        builder.tls(options);
      } catch (TlsConfigException e) {
        err.println("failed to initialize tls credentials. error=" + e.getMessage());
        throw new ProbeExit(ExitCode.INVALID_ARGUMENTS);
      }
    }
    DockhealthClient client = builder.build();
    if (verbose) {
      err.println("establishing connection");
    }
    Stopwatch connecting = Stopwatch.createStarted();
    boolean ready;
    try {
      ready = client.awaitReady(connectTimeout);
    } catch (InterruptedException e) {
      client.close();
      Thread.currentThread().interrupt();
      err.println("error: failed to connect service at " + GoText.quote(addr) + ": context canceled");
      throw new ProbeExit(ExitCode.CONNECTION_FAILURE);
    }
    if (!ready) {
      // Like grpc-go's blocking dial, a refused connection or a failed TLS handshake is retried
      // until the timeout, and then reported as the timeout.
      client.close();
      err.println("timeout: failed to connect service " + GoText.quote(addr) + " within "
          + GoDuration.format(connectTimeout));
      throw new ProbeExit(ExitCode.CONNECTION_FAILURE);
    }
    Duration took = connecting.elapsed();
    if (verbose) {
      err.println("connection established (took " + GoDuration.format(took) + ")");
    }
    return new Connected(client, took);
  }

  /** A ready client, and how long connecting took. */
  record Connected(DockhealthClient client, Duration took) {}

  /** One {@code -rpc-header} value. */
  record RpcHeader(String name, String value) {
    @Override
    public String toString() {
      return name + ": " + value;
    }

    /** Splits at the first colon and trims the value's leading blanks, as grpc_health_probe does. */
    static final class Converter implements CommandLine.ITypeConverter<RpcHeader> {
      @Override
      public RpcHeader convert(String text) {
        int colon = text.indexOf(':');
        if (colon < 0) {
          throw new CommandLine.TypeConversionException(
              "invalid RPC header, expected 'key: value', got " + GoText.quote(text));
        }
        return new RpcHeader(text.substring(0, colon), text.substring(colon + 1).stripLeading());
      }
    }
  }
}
