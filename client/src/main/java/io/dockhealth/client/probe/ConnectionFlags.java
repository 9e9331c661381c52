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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The flags every command shares: where to connect and how, named and checked exactly as
 * grpc_health_probe's (single dash like Go's flag package, {@code -addr=x} or {@code -addr x}, and
 * the double-dash spelling Go accepts too).
 */
final class ConnectionFlags {
  private final OptionSpec addr;
  private final OptionSpec connectTimeout;
  private final OptionSpec rpcTimeout;
  private final OptionSpec rpcHeaders;
  private final OptionSpec userAgent;
  private final OptionSpec gzip;
  private final OptionSpec tls;
  private final OptionSpec tlsNoVerify;
  private final OptionSpec tlsCaCert;
  private final OptionSpec tlsClientCert;
  private final OptionSpec tlsClientKey;
  private final OptionSpec tlsServerName;
  private final OptionSpec verbose;

  /**
   * Adds the flags to {@code spec}; {@code afterAddr} adds the command's own first flags (such as
   * -service) right after -addr, where a reader of the help looks for them.
   */
  ConnectionFlags(CommandSpec spec, Runnable afterAddr) {
    addr = Flags.value(spec, "addr", "HOST:PORT", String.class, "",
        "(required) where the server listens: host:port (:port is this machine),"
            + " unix:///path/to/socket, or a gRPC target URI (dns:///host:port)");
    afterAddr.run();
    connectTimeout = Flags.value(spec, "connect-timeout", "DURATION", Duration.class, "1s", new GoDuration.Converter(),
        "how long to wait for the connection, e.g. 250ms, 2s, 1m (default: 1s)");
    rpcTimeout = Flags.value(spec, "rpc-timeout", "DURATION", Duration.class, "1s", new GoDuration.Converter(),
        "how long to wait for the answer once connected (default: 1s)");
    rpcHeaders = Flags.add(spec, OptionSpec.builder("-rpc-header", "--rpc-header").paramLabel("'NAME: VALUE'")
        .type(List.class).auxiliaryTypes(RpcHeader.class).converters(new RpcHeader.Converter())
        .initialValue(new ArrayList<RpcHeader>())
        .description("an extra header for the RPC, 'name: value'; repeat the flag for more"));
    userAgent = Flags.value(spec, "user-agent", "TEXT", String.class, "dockhealth-probe",
        "the user-agent header of the RPC (default: dockhealth-probe)");
    gzip = Flags.bool(spec, "gzip", "compress the request with gzip; gzip answers are always accepted (default: false)");
    tls = Flags.bool(spec, "tls", "speak TLS (default: false, plaintext: INSECURE)");
    tlsNoVerify = Flags.bool(spec, "tls-no-verify",
        "(with -tls) accept any server certificate, unverified: INSECURE (default: false)");
    tlsCaCert = Flags.value(spec, "tls-ca-cert", "FILE", String.class, "",
        "(with -tls, optional) PEM file of the certificates that may sign the server's, instead of the system's");
    tlsClientCert = Flags.value(spec, "tls-client-cert", "FILE", String.class, "",
        "(with -tls, optional) PEM certificate to authenticate this client with (needs -tls-client-key)");
    tlsClientKey = Flags.value(spec, "tls-client-key", "FILE", String.class, "",
        "(with -tls) PEM PKCS#8 private key of -tls-client-cert (needs -tls-client-cert)");
    tlsServerName = Flags.value(spec, "tls-server-name", "NAME", String.class, "",
        "(with -tls) the name to verify the server's certificate against, instead of the host in -addr");
    verbose = Flags.bool(spec, "v", "verbose: print the options, the connection and the timings");
  }

  Duration rpcTimeout() {
    return Flags.get(rpcTimeout);
  }

  boolean verbose() {
    return Flags.get(verbose);
  }

  /** grpc_health_probe's checks, in its order and words. */
  void validate(PrintWriter err) throws ProbeExit {
    String addr = Flags.get(this.addr);
    Duration connectTimeout = Flags.get(this.connectTimeout);
    Duration rpcTimeout = Flags.get(this.rpcTimeout);
    boolean tls = Flags.get(this.tls);
    boolean tlsNoVerify = Flags.get(this.tlsNoVerify);
    String tlsCaCert = Flags.get(this.tlsCaCert);
    String tlsClientCert = Flags.get(this.tlsClientCert);
    String tlsClientKey = Flags.get(this.tlsClientKey);
    String tlsServerName = Flags.get(this.tlsServerName);
    List<RpcHeader> rpcHeaders = Flags.get(this.rpcHeaders);
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
    if (verbose()) {
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
    String addr = Flags.get(this.addr);
    Duration connectTimeout = Flags.get(this.connectTimeout);
    boolean tls = Flags.get(this.tls);
    boolean tlsNoVerify = Flags.get(this.tlsNoVerify);
    String tlsCaCert = Flags.get(this.tlsCaCert);
    String tlsClientCert = Flags.get(this.tlsClientCert);
    String tlsClientKey = Flags.get(this.tlsClientKey);
    String tlsServerName = Flags.get(this.tlsServerName);
    List<RpcHeader> rpcHeaders = Flags.get(this.rpcHeaders);
    DockhealthClient.Builder builder;
    try {
      builder = DockhealthClient.newBuilder(addr);
    } catch (IllegalArgumentException e) {
      err.println("error: failed to connect service at " + GoText.quote(addr) + ": " + e.getMessage());
      throw new ProbeExit(ExitCode.CONNECTION_FAILURE);
    }
    builder.deadline(rpcTimeout()).userAgent(Flags.<String>get(userAgent)).gzip(Flags.<Boolean>get(gzip));
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
    if (verbose()) {
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
    if (verbose()) {
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
