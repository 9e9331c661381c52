package io.dockhealth.client.probe;

import com.google.common.base.Stopwatch;
import io.dockhealth.client.DockhealthClient;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * {@code dockhealth-probe -addr=... [-service=...]}: one Check, answered with an exit code. The
 * {@code watch} and {@code list} subcommands are added by {@link Main} when they are needed.
 */
final class CheckCommand implements Callable<Integer> {
  private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
  private final ConnectionFlags connection;
  private OptionSpec service;

  CheckCommand() {
    spec.name("dockhealth-probe").versionProvider(new Main.Version());
    connection = new ConnectionFlags(spec, () -> service = Flags.value(spec, "service", "NAME", String.class, "",
        "the service to check (default: \"\", by convention the server itself)"));
    Flags.add(spec, OptionSpec.builder("-version", "--version").versionHelp(true)
        .description("print the version and exit"));
    Flags.help(spec);
    // Go's flag package stops at the first argument that is not a flag; grpc_health_probe ignores the rest.
    spec.addPositional(PositionalParamSpec.builder().arity("0..*").type(String[].class).hidden(true).build());
    spec.usageMessage()
        .width(100)
        .sortOptions(false)
        .customSynopsis(
            "dockhealth-probe -addr=HOST:PORT [-service=NAME] [flags]",
            "       dockhealth-probe watch -addr=HOST:PORT [-service=NAME] [-count=N] [-o=text|json] [flags]",
            "       dockhealth-probe list -addr=HOST:PORT [-all] [-o=text|json] [flags]")
        .description(
            "",
            "Calls grpc.health.v1.Health/Check (the gRPC Health Checking Protocol) to ask a server for the"
                + " health of one service, and exits 0 if the answer is SERVING, with another code otherwise"
                + " (see Exit codes below).",
            "",
            "A drop-in for grpc_health_probe: the same flags, messages and exit codes, so Docker HEALTHCHECK"
                + " lines and scripts written for it work unchanged. Flags take one dash or two, and a value"
                + " after '=' or a space, as Go's flag package does.",
            "",
            "Against the dockhealth sidecar, a service is a container's name, full ID or 12-character ID, or"
                + " a service group; \"\" (the default) is the sidecar itself.",
            "",
            "Examples:",
            "  $ dockhealth-probe -addr=localhost:4245 -service=web-1",
            "  status: SERVING",
            "",
            "  $ dockhealth-probe -addr=localhost:9999 -connect-timeout 250ms -rpc-timeout 100ms",
            "  timeout: failed to connect service \"localhost:9999\" within 250ms",
            "  exit status 2",
            "",
            "  HEALTHCHECK --interval=10s CMD [\"dockhealth-probe\", \"-addr=:4245\", \"-service=web-1\"]",
            "",
            "Flags:")
        .commandListHeading("%nCommands (their flags go after the command name):%n")
        .footer(
            "",
            "Exit codes:",
            "  0  success: the answer is SERVING",
            "  1  invalid command-line arguments, or TLS files that fail to load",
            "  2  the connection failed or timed out",
            "  3  the RPC failed or timed out: NOT_FOUND for an unknown name, UNIMPLEMENTED for a server",
            "     without the health service, DEADLINE_EXCEEDED, ...",
            "  4  the RPC succeeded, but the answer is not SERVING");
  }

  CommandSpec spec() {
    return spec;
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      return check(err);
    } catch (ProbeExit exit) {
      return exit.code;
    }
  }

  private int check(PrintWriter err) throws ProbeExit {
    connection.validate(err);
    ConnectionFlags.Connected connected = connection.connect(err);
    DockhealthClient client = connected.client();
    try {
      Stopwatch rpc = Stopwatch.createStarted();
      ServingStatus status;
      try {
        status = client.check(Flags.get(service), connection.rpcTimeout());
      } catch (StatusRuntimeException e) {
        Status failure = e.getStatus();
        if (failure.getCode() == Status.Code.UNIMPLEMENTED) {
          err.println("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): "
              + (failure.getDescription() == null ? "" : failure.getDescription()));
        } else if (failure.getCode() == Status.Code.DEADLINE_EXCEEDED) {
          err.println("timeout: health rpc did not complete within " + GoDuration.format(connection.rpcTimeout()));
        } else {
          err.println("error: health rpc failed: " + GoText.rpcError(failure));
        }
        return ExitCode.RPC_FAILURE;
      }
      if (status != ServingStatus.SERVING) {
        err.println("service unhealthy (responded with " + GoText.quote(status.name()) + ")");
        return ExitCode.UNHEALTHY;
      }
      if (connection.verbose()) {
        err.println("time elapsed: connect=" + GoDuration.format(connected.took())
            + " rpc=" + GoDuration.format(rpc.elapsed()));
      }
      err.println("status: " + status.name());
      return ExitCode.OK;
    } finally {
      // Also stops the client's event loop thread, without which the JVM would wait 300 ms to exit.
      client.close();
    }
  }
}
