package io.dockhealth.client.probe;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.dockhealth.client.DockhealthClient;
import io.dockhealth.client.HealthListener;
import io.dockhealth.client.HealthUpdate;
import io.dockhealth.client.Watch;
import io.grpc.Status;
import java.io.PrintWriter;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code dockhealth-probe watch}: follows one service with grpc.health.v1.Health/Watch and prints
 * each change with a timestamp, through disconnects (the client reconnects with backoff).
 */
final class WatchCommand implements Callable<Integer> {
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSX").withZone(ZoneOffset.UTC);

  private final CommandSpec spec = CommandSpec.wrapWithoutInspection(this);
  private final ConnectionFlags connection;
  private OptionSpec service;
  private final OptionSpec count;
  private final OptionSpec output;

  WatchCommand() {
    spec.name("watch");
    connection = new ConnectionFlags(spec, () -> service = Flags.value(spec, "service", "NAME", String.class, "",
        "the service to watch (default: \"\", by convention the server itself)"));
    count = Flags.value(spec, "count", "N", int.class, "0", "exit 0 after printing N lines (default: 0, until interrupted)");
    output = Flags.add(spec, OptionSpec.builder("-o", "--o", "-output", "--output").paramLabel("text|json")
        .type(OutputFormat.class).defaultValue("text")
        .description("text, or json: one object per line with time, service, status, error"));
    Flags.help(spec);
    spec.usageMessage()
        .width(100)
        .sortOptions(false)
        .header("print a service's status, then each change, with a timestamp")
        .description(
            "Prints the status of a service, then each change, with a timestamp, until interrupted or"
                + " -count lines are printed (grpc.health.v1.Health/Watch). When the connection breaks it"
                + " prints UNKNOWN and reconnects with exponential backoff (gRFC A17); SERVICE_UNKNOWN means"
                + " the server does not know the name yet.",
            "",
            "  $ dockhealth-probe watch -addr=localhost:4245 -service=web-1",
            "  2026-05-04T10:15:02.117Z web-1 NOT_SERVING",
            "  2026-05-04T10:15:03.620Z web-1 SERVING",
            "",
            "Exit codes: 0 after -count lines; 1 invalid arguments; 2 no connection within"
                + " -connect-timeout; 3 the server does not implement the health protocol.",
            "",
            "Flags:");
  }

  CommandSpec spec() {
    return spec;
  }

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      return watch(spec.commandLine().getOut(), err);
    } catch (ProbeExit exit) {
      return exit.code;
    }
  }

  private int watch(PrintWriter out, PrintWriter err) throws ProbeExit {
    connection.validate(err);
    int count = Flags.get(this.count);
    if (count < 0) {
      err.println("error: -count must not be negative (specified: " + count + ")");
      return ExitCode.INVALID_ARGUMENTS;
    }
    ConnectionFlags.Connected connected = connection.connect(err);
    CompletableFuture<Integer> done = new CompletableFuture<>();
    boolean json = Flags.get(output) == OutputFormat.JSON;
    try (DockhealthClient client = connected.client()) {
      Watch watch = client.watch(Flags.get(service), new Printer(out, err, json, count, done));
      try {
        return done.get();
      } finally {
        watch.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCode.OK;
    } catch (ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Prints each update; completes {@code done} with the exit code when the command should end. */
  private static final class Printer implements HealthListener {
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean json;
    private final int count;
    private final CompletableFuture<Integer> done;
    private int printed; // the listener is called one at a time

    Printer(PrintWriter out, PrintWriter err, boolean json, int count, CompletableFuture<Integer> done) {
      this.out = out;
      this.err = err;
      this.json = json;
      this.count = count;
      this.done = done;
    }

    @Override
    public void onUpdate(HealthUpdate update) {
      if (done.isDone()) {
        return;
      }
      out.println(json ? json(update) : text(update));
      out.flush();
      if (count > 0 && ++printed >= count) {
        done.complete(ExitCode.OK);
      }
    }

    @Override
    public void onStopped(Status status) {
      if (status.getCode() == Status.Code.UNIMPLEMENTED) {
        err.println("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): "
            + (status.getDescription() == null ? "" : status.getDescription()));
      } else {
        err.println("error: health rpc failed: " + GoText.rpcError(status));
      }
      done.complete(ExitCode.RPC_FAILURE);
    }
  }

  static String text(HealthUpdate update) {
    String line = TIME.format(update.time()) + " " + (update.service().isEmpty() ? "\"\"" : update.service())
        + " " + update.status().name();
    return update.error().isEmpty() ? line : line + " (" + update.error() + ")";
  }

  static String json(HealthUpdate update) {
    Struct.Builder line = Struct.newBuilder()
        .putFields("time", string(TIME.format(update.time())))
        .putFields("service", string(update.service()))
        .putFields("status", string(update.status().name()));
    if (!update.error().isEmpty()) {
      line.putFields("error", string(update.error()));
    }
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(line);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a Struct of strings always prints", e);
    }
  }

  private static Value string(String text) {
    return Value.newBuilder().setStringValue(text).build();
  }
}
