package io.dockhealth.server;

import ch.qos.logback.classic.Level;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code java -jar dockhealth.jar [flags]}: runs the sidecar until SIGTERM or SIGINT. Every flag has
 * an environment variable of the same meaning, used when the flag is not given.
 */
@Command(
    name = "dockhealth",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "Watches the Docker engine and tells load balancers which containers are healthy, over the"
          + " gRPC health protocol (grpc.health.v1: Check, Watch, List).",
      "",
      "Service names: a container's name, its full ID and its 12-character ID; \"\" is the"
          + " sidecar itself (SERVING while it is connected to Docker and in sync).",
      "",
    },
    footer = {"", "Exit codes: 0 stopped cleanly, 1 could not start, 2 bad flags."})
public final class Main implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--grpc-address", paramLabel = "HOST:PORT",
      defaultValue = "${env:DOCKHEALTH_GRPC_ADDRESS:-127.0.0.1:4245}", converter = Flags.Address.class,
      description = "Where the gRPC server listens (env DOCKHEALTH_GRPC_ADDRESS; default ${DEFAULT-VALUE}).")
  InetSocketAddress grpcAddress;

  @Option(names = "--docker-host", paramLabel = "URI",
      defaultValue = "${env:DOCKER_HOST:-unix:///var/run/docker.sock}", converter = Flags.DockerHost.class,
      description = "The Docker engine, unix:///path or tcp://host:port (env DOCKER_HOST; default ${DEFAULT-VALUE}).")
  URI dockerHost;

  @Option(names = "--resync-interval", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_RESYNC_INTERVAL:-60s}", converter = Flags.DurationValue.class,
      description = "How often every container is re-read, repairing anything an event missed"
          + " (env DOCKHEALTH_RESYNC_INTERVAL; default ${DEFAULT-VALUE}).")
  Duration resyncInterval;

  @Option(names = "--drain-period", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_DRAIN_PERIOD:-5s}", converter = Flags.DurationValue.class,
      description = "On SIGTERM, how long every name answers NOT_SERVING before the server stops"
          + " (env DOCKHEALTH_DRAIN_PERIOD; default ${DEFAULT-VALUE}).")
  Duration drainPeriod;

  @Option(names = "--max-watch-streams", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_MAX_WATCH_STREAMS:-100000}",
      description = "The most Watch streams open at once; more fail with RESOURCE_EXHAUSTED"
          + " (env DOCKHEALTH_MAX_WATCH_STREAMS; default ${DEFAULT-VALUE}).")
  int maxWatchStreams;

  @Option(names = "--log-level", paramLabel = "LEVEL",
      defaultValue = "${env:DOCKHEALTH_LOG_LEVEL:-info}",
      description = "error, warn, info, debug (status transitions) or trace (every event)"
          + " (env DOCKHEALTH_LOG_LEVEL; default ${DEFAULT-VALUE}).")
  String logLevel;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  static CommandLine commandLine() {
    return new CommandLine(new Main()).setParameterExceptionHandler((e, args) -> {
      // The message names the flag, the value and what was expected; the whole usage would bury it.
      CommandLine cmd = e.getCommandLine();
      cmd.getErr().println(e.getMessage());
      cmd.getErr().println("Flags can also come from environment variables; see 'dockhealth --help'.");
      return CommandLine.ExitCode.USAGE;
    });
  }

  @Override
  public Integer call() {
    validate();
    setLogLevel(Level.toLevel(logLevel));
    Logger logger = LoggerFactory.getLogger(Main.class);
    SidecarConfig config = new SidecarConfig(grpcAddress, dockerHost, resyncInterval, drainPeriod, maxWatchStreams);
    Sidecar sidecar;
    try {
      sidecar = Sidecar.start(config);
    } catch (IllegalStateException e) {
      logger.error("cannot start: {}", causes(e.getCause() != null ? e.getCause() : e));
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(sidecar::stop, "dockhealth-shutdown"));
    sidecar.awaitStopped();
    return 0;
  }

  private void validate() {
    switch (logLevel.toLowerCase(Locale.ROOT)) {
      case "error", "warn", "info", "debug", "trace" -> { }
      default -> throw new ParameterException(spec.commandLine(),
          "Invalid value for option '--log-level': '" + logLevel + "' (expected: error, warn, info, debug or trace)");
    }
    if (resyncInterval.isZero()) {
      throw new ParameterException(spec.commandLine(),
          "Invalid value for option '--resync-interval': 0 (expected: a duration > 0 such as 60s)");
    }
    if (maxWatchStreams <= 0) {
      throw new ParameterException(spec.commandLine(),
          "Invalid value for option '--max-watch-streams': " + maxWatchStreams + " (expected: > 0)");
    }
  }

  /** "Failed to bind to address /127.0.0.1:4245: Address already in use", not a stack trace. */
  private static String causes(Throwable t) {
    StringBuilder text = new StringBuilder();
    for (Throwable cause = t; cause != null; cause = cause.getCause()) {
      String message = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
      if (text.indexOf(message) < 0) {
        text.append(text.length() == 0 ? "" : ": ").append(message);
      }
    }
    return text.toString();
  }

  /** Our own loggers follow --log-level; the root follows it too, but never below info. */
  private static void setLogLevel(Level level) {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.dockhealth")).setLevel(level);
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME))
        .setLevel(level.isGreaterOrEqual(Level.INFO) ? level : Level.INFO);
  }

  /** The version from the jar's manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"dockhealth " + (version != null ? version : "(development build)")};
    }
  }
}
