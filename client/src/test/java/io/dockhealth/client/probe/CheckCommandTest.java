package io.dockhealth.client.probe;

import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
import static io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus.SERVING;
import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.testing.FakeHealthServer;
import io.grpc.Metadata;
import java.net.ServerSocket;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The probe's check against a health server on a real loopback port: grpc_health_probe's flags,
 * messages (on stderr, as Go's log writes them) and exit codes. The sidecar itself, with Docker, is
 * probed in ProbeIT.
 */
class CheckCommandTest {
  private static FakeHealthServer server;
  private static String addr;

  @BeforeAll
  static void startServer() throws Exception {
    server = FakeHealthServer.onLoopback().start();
    addr = server.address();
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }

  @BeforeEach
  void statuses() {
    server.reset();
    server.set("", SERVING);
    server.set("web", SERVING);
    server.set("down", NOT_SERVING);
  }

  @Test
  void serving_exits0_andSaysSoOnStderr() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-service=web");
    assertThat(run.exitCode()).isEqualTo(ExitCode.OK);
    assertThat(run.errLines()).containsExactly("status: SERVING");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void flagForms_likeGosFlagPackage_allWork() {
    int port = server.port();
    for (List<String> args : List.of(
        List.of("-addr=" + addr), List.of("-addr", addr), List.of("--addr=" + addr), List.of("--addr", addr),
        List.of("-addr=:" + port), List.of("-addr=127.0.0.1:" + port, "-service", "web"),
        List.of("-service=nope", "-addr=" + addr, "-service=web"), // the last of a repeated flag wins
        List.of("-addr=" + addr, "ignored", "positional"))) {
      assertThat(ProbeRun.of(args.toArray(String[]::new)).exitCode()).as("%s", args).isEqualTo(ExitCode.OK);
    }
  }

  @Test
  void notServing_exits4() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-service=down");
    assertThat(run.exitCode()).isEqualTo(ExitCode.UNHEALTHY);
    assertThat(run.errLines()).containsExactly("service unhealthy (responded with \"NOT_SERVING\")");
  }

  @Test
  void unknownService_exits3_withGrpcGosErrorText() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-service=nope");
    assertThat(run.exitCode()).isEqualTo(ExitCode.RPC_FAILURE);
    assertThat(run.errLines())
        .containsExactly("error: health rpc failed: rpc error: code = NotFound desc = unknown service \"nope\"");
  }

  @Test
  void slowAnswer_exits3_afterTheRpcTimeout() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-service=hang", "-rpc-timeout=150ms");
    assertThat(run.exitCode()).isEqualTo(ExitCode.RPC_FAILURE);
    assertThat(run.errLines()).containsExactly("timeout: health rpc did not complete within 150ms");
  }

  @Test
  void serverWithoutHealthService_exits3_saysSo() throws Exception {
    try (FakeHealthServer bare = FakeHealthServer.onLoopback().withoutHealthService().start()) {
      ProbeRun run = ProbeRun.of("-addr=" + bare.address());
      assertThat(run.exitCode()).isEqualTo(ExitCode.RPC_FAILURE);
      assertThat(run.errLines()).containsExactly("error: this server does not implement the grpc health protocol"
          + " (grpc.health.v1.Health): Method not found: grpc.health.v1.Health/Check");
    }
  }

  @Test
  void nothingListening_exits2_afterTheConnectTimeout() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    ProbeRun run = ProbeRun.of("-addr=127.0.0.1:" + port, "-connect-timeout=200ms");
    assertThat(run.exitCode()).isEqualTo(ExitCode.CONNECTION_FAILURE);
    assertThat(run.errLines())
        .containsExactly("timeout: failed to connect service \"127.0.0.1:" + port + "\" within 200ms");
  }

  @Test
  void addressWithoutPort_exits2_withGosDialError() {
    ProbeRun run = ProbeRun.of("-addr=localhost");
    assertThat(run.exitCode()).isEqualTo(ExitCode.CONNECTION_FAILURE);
    assertThat(run.errLines()).containsExactly(
        "error: failed to connect service at \"localhost\": address localhost: missing port in address");
  }

  @Test
  void verbose_printsOptionsConnectionAndTimings() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-v", "-connect-timeout=2s");
    assertThat(run.exitCode()).isZero();
    List<String> lines = run.errLines();
    assertThat(lines.subList(0, 4)).containsExactly("parsed options:",
        "> addr=" + addr + " conn_timeout=2s rpc_timeout=1s", "> tls=false", "establishing connection");
    assertThat(lines.get(4)).matches("connection established \\(took [0-9.]+(ns|\u00b5s|ms|s)\\)");
    assertThat(lines.get(5)).matches("time elapsed: connect=[0-9.]+(ns|\u00b5s|ms|s) rpc=[0-9.]+(ns|\u00b5s|ms|s)");
    assertThat(lines.get(6)).isEqualTo("status: SERVING");
  }

  @Test
  void headersUserAgentAndGzip_reachTheServer() {
    assertThat(ProbeRun.of("-addr=" + addr, "-rpc-header=X-Team: shop", "-rpc-header", "x-team:  web",
        "-user-agent=my-check/1", "-gzip").exitCode()).isZero();
    assertThat(ProbeRun.of("-addr=" + addr).exitCode()).isZero();

    Metadata withFlags = server.headers().get(0);
    assertThat(withFlags.getAll(Metadata.Key.of("x-team", Metadata.ASCII_STRING_MARSHALLER)))
        .containsExactly("shop", "web");
    assertThat(withFlags.get(Metadata.Key.of("user-agent", Metadata.ASCII_STRING_MARSHALLER))).startsWith("my-check/1 ");
    assertThat(withFlags.get(Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER))).isEqualTo("gzip");
    Metadata plain = server.headers().get(1);
    assertThat(plain.get(Metadata.Key.of("user-agent", Metadata.ASCII_STRING_MARSHALLER))).startsWith("dockhealth-probe ");
    assertThat(plain.get(Metadata.Key.of("grpc-encoding", Metadata.ASCII_STRING_MARSHALLER))).isNull();
  }

  @Test
  void tlsAgainstPlaintextServer_exits2_asAConnectionTimeout() {
    ProbeRun run = ProbeRun.of("-addr=" + addr, "-tls", "-tls-no-verify", "-connect-timeout=300ms");
    assertThat(run.exitCode()).isEqualTo(ExitCode.CONNECTION_FAILURE);
    assertThat(run.errLines()).containsExactly("timeout: failed to connect service \"" + addr + "\" within 300ms");
  }

  /** grpc_health_probe's argument checks, in its words, all exit 1. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''| error: -addr not specified",
      "-addr=x:1 -connect-timeout=0| error: -connect-timeout must be greater than zero (specified: 0s)",
      "-addr=x:1 -rpc-timeout=-1s| error: -rpc-timeout must be greater than zero (specified: -1s)",
      "-addr=x:1 -tls-no-verify| error: specified -tls-no-verify without specifying -tls",
      "-addr=x:1 -tls-ca-cert=ca.pem| error: specified -tls-ca-cert without specifying -tls",
      "-addr=x:1 -tls-client-cert=c.pem| error: specified -tls-client-cert without specifying -tls",
      "-addr=x:1 -tls-server-name=x| error: specified -tls-server-name without specifying -tls",
      "-addr=x:1 -tls -tls-client-cert=c.pem| error: specified -tls-client-cert without specifying -tls-client-key",
      "-addr=x:1 -tls -tls-client-key=k.pem| error: specified -tls-client-key without specifying -tls-client-cert",
      "-addr=x:1 -tls -tls-no-verify -tls-ca-cert=ca.pem| error: cannot specify -tls-ca-cert with -tls-no-verify (CA cert would not be used)",
      "-addr=x:1 -tls -tls-no-verify -tls-server-name=x| error: cannot specify -tls-server-name with -tls-no-verify (server name would not be used)",
      "-addr=x:1 -foo=1| flag provided but not defined: -foo",
      "-addr| flag needs an argument: -addr",
      "-addr=x:1 -connect-timeout=soon| invalid value \"soon\" for flag -connect-timeout: parse error",
      "-addr=x:1 -tls=maybe| invalid boolean value \"maybe\" for -tls: parse error",
      "-addr=x:1 -rpc-header=nocolon| invalid value \"nocolon\" for flag -rpc-header: invalid RPC header, expected 'key: value', got \"nocolon\"",
      "-addr=x:1 -tls -tls-ca-cert=/nonexistent/ca.pem| failed to initialize tls credentials. error=failed to load root CA certificates from file (/nonexistent/ca.pem) error=open /nonexistent/ca.pem: no such file or directory",
      "-addr=x:1 -rpc-header=bad name: x| error: invalid -rpc-header: Invalid character ' ' in key name 'bad name'",
  })
  void invalidArguments_exit1_withGrpcHealthProbesMessage(String args, String message) {
    ProbeRun run = ProbeRun.of(args.isEmpty() ? new String[0] : splitKeepingHeaderValues(args));
    assertThat(run.exitCode()).as(run.err()).isEqualTo(ExitCode.INVALID_ARGUMENTS);
    assertThat(run.errLines()).first().isEqualTo(message);
  }

  private static String[] splitKeepingHeaderValues(String args) {
    // "-rpc-header=bad name: x" is one argument in the table.
    return args.contains("-rpc-header=bad name") ? new String[] {"-addr=x:1", "-rpc-header=bad name: x"} : args.split(" ");
  }

  @Test
  void version_printsItAndExits0() {
    ProbeRun run = ProbeRun.of("-version");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).startsWith("dockhealth-probe ");
  }

  @Test
  void help_readsLikeGrpcHealthProbesReadme_andExits0() {
    for (String flag : List.of("-h", "-help", "--help")) {
      ProbeRun run = ProbeRun.of(flag);
      assertThat(run.exitCode()).isZero();
      assertThat(run.out()).contains("Usage: dockhealth-probe -addr=HOST:PORT", "grpc.health.v1.Health/Check",
          "drop-in for grpc_health_probe", "$ dockhealth-probe -addr=localhost:4245 -service=web-1",
          "status: SERVING", "-tls-ca-cert", "-rpc-header", "Exit codes:", "watch", "list",
          "4  the RPC succeeded, but the answer is not SERVING");
    }
  }
}
