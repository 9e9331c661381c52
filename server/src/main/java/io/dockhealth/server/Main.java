package io.dockhealth.server;

import ch.qos.logback.classic.Level;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import io.dockhealth.server.api.Exposure;
import io.dockhealth.server.grpc.GrpcLimits;
import io.dockhealth.server.http.HttpFrontEnd;
import io.dockhealth.server.http.HttpLimits;
import io.dockhealth.server.logging.Logging;
import io.dockhealth.server.model.GroupPolicy;
import io.dockhealth.server.model.ServiceRules;
import io.dockhealth.server.net.ListenAddress;
import io.dockhealth.server.net.ListenerSecurity;
import io.dockhealth.server.net.ServerTls;
import io.dockhealth.server.net.TlsFileException;
import io.dockhealth.server.net.TlsFiles;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
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
          + " gRPC health protocol (grpc.health.v1: Check, Watch, List) and over HTTP (JSON, the"
          + " routes of container-healthcheck, /metrics).",
      "",
      "Service names: a container's name, its full ID and its 12-character ID; \"\" is the"
          + " sidecar itself (SERVING while it is connected to Docker and in sync).",
      "",
    },
    footer = {"", "Exit codes: 0 stopped cleanly, 1 could not start, 2 bad flags."})
public final class Main implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--grpc-address", paramLabel = "HOST:PORT|unix:///PATH",
      defaultValue = "${env:DOCKHEALTH_GRPC_ADDRESS:-127.0.0.1:4245}", converter = Flags.Address.class,
      description = "Where the gRPC server listens: TCP, or a unix socket (env DOCKHEALTH_GRPC_ADDRESS;"
          + " default ${DEFAULT-VALUE}).")
  ListenAddress grpcAddress;

  @Option(names = "--http-address", paramLabel = "HOST:PORT|unix:///PATH",
      defaultValue = "${env:DOCKHEALTH_HTTP_ADDRESS:-127.0.0.1:4246}", converter = Flags.Address.class,
      description = "Where the HTTP gateway listens: health as JSON, the container-healthcheck routes,"
          + " /metrics; TCP, or a unix socket (env DOCKHEALTH_HTTP_ADDRESS; default ${DEFAULT-VALUE}).")
  ListenAddress httpAddress;

  @Option(names = "--compat-prefix", paramLabel = "PATH",
      defaultValue = "${env:DOCKHEALTH_COMPAT_PREFIX:-/container-healthcheck}",
      description = "Where the drop-in routes of container-healthcheck live, PATH/health and"
          + " PATH/apps/health/{app}; empty for the root (env DOCKHEALTH_COMPAT_PREFIX; default ${DEFAULT-VALUE}).")
  String compatPrefix;

  @Option(names = "--http-max-connections", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_HTTP_MAX_CONNECTIONS:-10000}",
      description = "The most HTTP connections open at once, long-polls included; a new one closes the"
          + " oldest that is silent, slow or idle, or is answered 503 if every one is busy; lowered to fit"
          + " the file descriptor limit (env DOCKHEALTH_HTTP_MAX_CONNECTIONS; default ${DEFAULT-VALUE}).")
  int httpMaxConnections;

  @Option(names = "--http-request-timeout", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_HTTP_REQUEST_TIMEOUT:-10s}", converter = Flags.DurationValue.class,
      description = "How long a client may take to send a request head, from its first byte (from connecting,"
          + " TLS handshake included, for a connection's first request) however slowly it trickles, and to read"
          + " an answer; then it is closed (env DOCKHEALTH_HTTP_REQUEST_TIMEOUT; default ${DEFAULT-VALUE}).")
  Duration httpRequestTimeout;

  @Option(names = "--http-allowed-hosts", paramLabel = "HOST[,HOST...]",
      defaultValue = "${env:DOCKHEALTH_HTTP_ALLOWED_HOSTS:-}",
      description = "Host names the HTTP gateway answers besides localhost, 127.0.0.1, [::1] and its listen"
          + " address; * for any; others get 421, against DNS rebinding (env DOCKHEALTH_HTTP_ALLOWED_HOSTS;"
          + " default none).")
  String httpAllowedHosts;

  @Option(names = "--docker-host", paramLabel = "URI",
      defaultValue = "${env:DOCKER_HOST:-unix:///var/run/docker.sock}", converter = Flags.DockerHost.class,
      description = "The Docker engine, unix:///path or tcp://host:port (env DOCKER_HOST; default ${DEFAULT-VALUE}).")
  URI dockerHost;

  @Option(names = "--resync-interval", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_RESYNC_INTERVAL:-60s}", converter = Flags.DurationValue.class,
      description = "How often every container is re-read, repairing anything an event missed"
          + " (env DOCKHEALTH_RESYNC_INTERVAL; default ${DEFAULT-VALUE}).")
  Duration resyncInterval;

  @Option(names = "--docker-timeout", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_DOCKER_TIMEOUT:-5s}", converter = Flags.DurationValue.class,
      description = "How long Docker may take to answer a ping (sent after 2 s of quiet), and on connecting"
          + " the version and the events subscription, before it counts as hung; listing and inspecting"
          + " may take 30 s, or this if longer (env DOCKHEALTH_DOCKER_TIMEOUT; default ${DEFAULT-VALUE}).")
  Duration dockerTimeout;

  @Option(names = "--drain-period", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_DRAIN_PERIOD:-5s}", converter = Flags.DurationValue.class,
      description = "On SIGTERM, how long the server goes on answering before it stops: \"\" is NOT_SERVING"
          + " meanwhile, every other name keeps following Docker; then open streams end with UNAVAILABLE"
          + " (env DOCKHEALTH_DRAIN_PERIOD; default ${DEFAULT-VALUE}).")
  Duration drainPeriod;

  @Option(names = "--drain-names", paramLabel = "BOOL", arity = "0..1", converter = Flags.Bool.class,
      defaultValue = "${env:DOCKHEALTH_DRAIN_NAMES:-false}",
      description = "On SIGTERM, turn every name NOT_SERVING for the drain period, not only \"\": for hosts"
          + " that are going down with the sidecar, never for a sidecar restarted alone"
          + " (env DOCKHEALTH_DRAIN_NAMES; default ${DEFAULT-VALUE}).")
  boolean drainNames;

  @Option(names = "--max-watch-streams", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_MAX_WATCH_STREAMS:-100000}",
      description = "The most grpc.health.v1 Watch streams open at once; more fail with RESOURCE_EXHAUSTED"
          + " (env DOCKHEALTH_MAX_WATCH_STREAMS; default ${DEFAULT-VALUE}).")
  int maxWatchStreams;

  @Option(names = "--max-watch-containers-streams", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_MAX_WATCH_CONTAINERS_STREAMS:-100}",
      description = "The most dockhealth.v1 WatchContainers streams open at once, each costing up to two copies"
          + " of the container list; more fail with RESOURCE_EXHAUSTED"
          + " (env DOCKHEALTH_MAX_WATCH_CONTAINERS_STREAMS; default ${DEFAULT-VALUE}).")
  int maxWatchContainersStreams;

  @Option(names = "--max-watch-streams-per-connection", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_MAX_WATCH_STREAMS_PER_CONNECTION:-" + GrpcLimits.DEFAULT_MAX_WATCHES_PER_CONNECTION
          + "}",
      description = "The most Watch and WatchContainers streams one gRPC connection may hold, so that no client"
          + " takes every slot; more fail with RESOURCE_EXHAUSTED (env DOCKHEALTH_MAX_WATCH_STREAMS_PER_CONNECTION;"
          + " default ${DEFAULT-VALUE}).")
  int maxWatchStreamsPerConnection;

  @Option(names = "--grpc-max-connections", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_GRPC_MAX_CONNECTIONS:-" + GrpcLimits.DEFAULT_MAX_CONNECTIONS + "}",
      description = "The most gRPC connections open at once; a new one closes the oldest that is silent or has"
          + " no call open, or is refused if every one has a call open; lowered to fit the file descriptor limit"
          + " (env DOCKHEALTH_GRPC_MAX_CONNECTIONS; default ${DEFAULT-VALUE}).")
  int grpcMaxConnections;

  @Option(names = "--grpc-max-calls-per-connection", paramLabel = "N",
      defaultValue = "${env:DOCKHEALTH_GRPC_MAX_CALLS_PER_CONNECTION:-" + GrpcLimits.DEFAULT_MAX_CALLS_PER_CONNECTION
          + "}",
      description = "HTTP/2 MAX_CONCURRENT_STREAMS: the most calls open at once on one gRPC connection; a client's"
          + " further calls wait until one ends (env DOCKHEALTH_GRPC_MAX_CALLS_PER_CONNECTION; default ${DEFAULT-VALUE}).")
  int grpcMaxCallsPerConnection;

  @Option(names = "--grpc-handshake-timeout", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_GRPC_HANDSHAKE_TIMEOUT:-10s}", converter = Flags.DurationValue.class,
      description = "How long a new gRPC connection may take to finish its TLS handshake, if any, and start"
          + " HTTP/2; then it is closed"
          + " (env DOCKHEALTH_GRPC_HANDSHAKE_TIMEOUT; default ${DEFAULT-VALUE}).")
  Duration grpcHandshakeTimeout;

  @Option(names = "--grpc-max-connection-idle", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_GRPC_MAX_CONNECTION_IDLE:-5m}", converter = Flags.DurationValue.class,
      description = "A gRPC connection without a call this long is asked to go away (GOAWAY)"
          + " (env DOCKHEALTH_GRPC_MAX_CONNECTION_IDLE; default ${DEFAULT-VALUE}).")
  Duration grpcMaxConnectionIdle;

  @Option(names = "--service-label", paramLabel = "KEY",
      defaultValue = "${env:DOCKHEALTH_SERVICE_LABEL:-" + ServiceRules.DEFAULT_SERVICE_LABEL + "}",
      description = "The label whose value names a container's service group"
          + " (env DOCKHEALTH_SERVICE_LABEL; default ${DEFAULT-VALUE}).")
  String serviceLabel;

  @Option(names = "--name-pattern", paramLabel = "REGEX",
      defaultValue = "${env:DOCKHEALTH_NAME_PATTERN:-" + ServiceRules.DEFAULT_NAME_PATTERN + "}",
      description = "A regex with a named group 'service', matched against whole container names: a"
          + " container joins the group it captures; empty for none (env DOCKHEALTH_NAME_PATTERN;"
          + " default ${DEFAULT-VALUE}, so bk_iam-1709878117 joins bk_iam).")
  String namePattern;

  @Option(names = "--group-policy", paramLabel = "any|all",
      defaultValue = "${env:DOCKHEALTH_GROUP_POLICY:-any}",
      description = "A group is SERVING when any member is, or only when all are; a member's"
          + " dockhealth.policy label overrides it (env DOCKHEALTH_GROUP_POLICY; default ${DEFAULT-VALUE}).")
  String groupPolicy;

  @Option(names = "--starting-is-serving", paramLabel = "BOOL", arity = "0..1", converter = Flags.Bool.class,
      defaultValue = "${env:DOCKHEALTH_STARTING_IS_SERVING:-false}",
      description = "Count a container whose HEALTHCHECK is still 'starting' as SERVING; its"
          + " dockhealth.starting-is-serving label overrides it (env DOCKHEALTH_STARTING_IS_SERVING;"
          + " default ${DEFAULT-VALUE}).")
  boolean startingIsServing;

  @Option(names = "--stale-grace", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_STALE_GRACE:-30s}", converter = Flags.DurationValue.class,
      description = "While Docker cannot be reached, names keep their last status (marked stale) this"
          + " long, then turn NOT_SERVING (env DOCKHEALTH_STALE_GRACE; default ${DEFAULT-VALUE}).")
  Duration staleGrace;

  @Option(names = "--forget-after", paramLabel = "DURATION",
      defaultValue = "${env:DOCKHEALTH_FORGET_AFTER:-60s}", converter = Flags.DurationValue.class,
      description = "A removed container's names stay NOT_SERVING this long before they become unknown"
          + " (env DOCKHEALTH_FORGET_AFTER; default ${DEFAULT-VALUE}).")
  Duration forgetAfter;

  @Option(names = "--expose", paramLabel = "all|labeled",
      defaultValue = "${env:DOCKHEALTH_EXPOSE:-all}",
      description = "Show every container, or only those labelled dockhealth.enable=true; a hidden"
          + " container is unknown everywhere (env DOCKHEALTH_EXPOSE; default ${DEFAULT-VALUE}).")
  String expose;

  @Option(names = "--service-from-authority", paramLabel = "BOOL", arity = "0..1", converter = Flags.Bool.class,
      defaultValue = "${env:DOCKHEALTH_SERVICE_FROM_AUTHORITY:-false}",
      description = "Answer a request for \"\" whose :authority (port stripped) is a known service name"
          + " for that service, as Envoy sends with health_check_config.hostname"
          + " (env DOCKHEALTH_SERVICE_FROM_AUTHORITY; default ${DEFAULT-VALUE}).")
  boolean serviceFromAuthority;

  @Option(names = "--tls-cert", paramLabel = "FILE", defaultValue = "${env:DOCKHEALTH_TLS_CERT:-}",
      description = "PEM certificate chain: TCP listeners speak TLS only, with --tls-key; re-read when it changes"
          + " (env DOCKHEALTH_TLS_CERT; default none: plaintext).")
  String tlsCert;

  @Option(names = "--tls-key", paramLabel = "FILE", defaultValue = "${env:DOCKHEALTH_TLS_KEY:-}",
      description = "PEM PKCS#8 private key of --tls-cert (env DOCKHEALTH_TLS_KEY).")
  String tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "FILE", defaultValue = "${env:DOCKHEALTH_TLS_CLIENT_CA:-}",
      description = "PEM CA certificates: every TLS client must present a certificate they signed (mutual TLS)"
          + " (env DOCKHEALTH_TLS_CLIENT_CA; default none).")
  String tlsClientCa;

  @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "${env:DOCKHEALTH_SOCKET_MODE:-0660}",
      converter = Flags.SocketMode.class,
      description = "The file mode of unix-socket listeners, in octal: who may connect"
          + " (env DOCKHEALTH_SOCKET_MODE; default ${DEFAULT-VALUE}).")
  Set<PosixFilePermission> socketMode;

  @Option(names = "--details", paramLabel = "full|health", defaultValue = "${env:DOCKHEALTH_DETAILS:-full}",
      description = "full: health and container detail (dockhealth.v1, /v1/containers, command lines); health:"
          + " health only (env DOCKHEALTH_DETAILS; default ${DEFAULT-VALUE}).")
  String details;

  @Option(names = "--probe-output", paramLabel = "show|hide", defaultValue = "${env:DOCKHEALTH_PROBE_OUTPUT:-hide}",
      description = "Whether container detail shows what HEALTHCHECK probes printed, which often holds tokens;"
          + " hidden, it is empty (env DOCKHEALTH_PROBE_OUTPUT; default ${DEFAULT-VALUE}).")
  String probeOutput;

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

  /**
   * The configuration these flags give, checked as on the command line: the way tests build one,
   * so that they and operators configure the sidecar the same way.
   *
   * @throws ParameterException saying which flag is wrong and what was expected
   */
  public static SidecarConfig parseConfig(String... args) {
    CommandLine commandLine = new CommandLine(new Main());
    commandLine.parseArgs(args);
    return ((Main) commandLine.getCommand()).validatedConfig();
  }

  @Override
  public Integer call() {
    SidecarConfig config = validatedConfig();
    Logging.bridgeJavaUtilLogging();
    setLogLevel(Level.toLevel(logLevel));
    Logger logger = LoggerFactory.getLogger(Main.class);
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

  private SidecarConfig validatedConfig() {
    validate();
    ServiceRules rules = new ServiceRules(serviceLabel.trim(), pattern(), GroupPolicy.parse(groupPolicy).orElseThrow(),
        startingIsServing, expose.trim().equalsIgnoreCase("labeled"));
    return new SidecarConfig(
        new SidecarConfig.Docker(dockerHost, resyncInterval, dockerTimeout),
        new SidecarConfig.Model(rules, staleGrace, forgetAfter),
        new SidecarConfig.Grpc(grpcAddress, maxWatchStreams, maxWatchContainersStreams, serviceFromAuthority,
            new GrpcLimits(grpcMaxConnections, grpcMaxCallsPerConnection, maxWatchStreamsPerConnection,
                grpcHandshakeTimeout, grpcMaxConnectionIdle)),
        new SidecarConfig.Http(httpAddress, compatPrefix,
            new HttpLimits(httpMaxConnections, httpRequestTimeout, allowedHosts())),
        new SidecarConfig.Drain(drainPeriod, drainNames),
        listenerSecurity(),
        exposure());
  }

  /** {@code --http-allowed-hosts}, split at commas. */
  private List<String> allowedHosts() {
    return Arrays.stream(httpAllowedHosts.split(",")).map(String::trim).filter(host -> !host.isEmpty()).toList();
  }

  /** The TLS files (read and checked here, so that a bad one stops the start with exit code 2) and the socket mode. */
  private ListenerSecurity listenerSecurity() {
    if (grpcAddress instanceof ListenAddress.Unix && grpcAddress.equals(httpAddress)) {
      throw invalid("--http-address", httpAddress, "another socket than --grpc-address's");
    }
    if (tlsCert.isEmpty() && tlsKey.isEmpty() && tlsClientCa.isEmpty()) {
      return new ListenerSecurity(Optional.empty(), socketMode);
    }
    if (tlsCert.isEmpty()) {
      throw new ParameterException(spec.commandLine(), (tlsKey.isEmpty() ? "--tls-client-ca" : "--tls-key")
          + " is given without --tls-cert (expected: --tls-cert and --tls-key together, --tls-client-ca with them"
          + " for mutual TLS)");
    }
    if (tlsKey.isEmpty()) {
      throw new ParameterException(spec.commandLine(), "--tls-cert is given without --tls-key (expected:"
          + " --tls-cert and --tls-key together, the certificate and its private key)");
    }
    if (grpcAddress instanceof ListenAddress.Unix && httpAddress instanceof ListenAddress.Unix) {
      throw invalid("--tls-cert", tlsCert, "no TLS flags while both listeners are unix sockets, which speak"
          + " plaintext (their file mode says who may connect); or a TCP --grpc-address or --http-address");
    }
    TlsFiles files = new TlsFiles(Path.of(tlsCert), Path.of(tlsKey),
        tlsClientCa.isEmpty() ? Optional.empty() : Optional.of(Path.of(tlsClientCa)));
    try {
      ServerTls.check(files);
    } catch (TlsFileException e) {
      String flag = switch (e.role()) {
        case CERTIFICATE -> "--tls-cert";
        case KEY -> "--tls-key";
        case CLIENT_CA -> "--tls-client-ca";
      };
      throw new ParameterException(spec.commandLine(), "Invalid value for option '" + flag + "': '" + e.file()
          + "' " + e.problem() + " (expected: " + e.role().expected() + ")");
    }
    return new ListenerSecurity(Optional.of(files), socketMode);
  }

  private Exposure exposure() {
    Exposure.Details level = switch (details.trim().toLowerCase(Locale.ROOT)) {
      case "full" -> Exposure.Details.FULL;
      case "health" -> Exposure.Details.HEALTH;
      default -> throw invalid("--details", details, "full (health and container detail) or health (health only)");
    };
    boolean show = switch (probeOutput.trim().toLowerCase(Locale.ROOT)) {
      case "show" -> true;
      case "hide" -> false;
      default -> throw invalid("--probe-output", probeOutput, "show or hide");
    };
    if (show && level == Exposure.Details.HEALTH) {
      throw invalid("--probe-output", probeOutput, "hide with --details=health, which shows no probe results;"
          + " or --details=full");
    }
    return new Exposure(level, show);
  }

  private Optional<Pattern> pattern() {
    if (namePattern.isEmpty()) {
      return Optional.empty();
    }
    Pattern pattern;
    try {
      pattern = Pattern.compile(namePattern);
    } catch (PatternSyntaxException e) {
      throw invalid("--name-pattern", namePattern, "a Java regex; " + e.getDescription() + " near index " + e.getIndex());
    }
    if (!namePattern.contains("(?<service>")) {
      throw invalid("--name-pattern", namePattern, "a regex with a named group (?<service>...) such as "
          + ServiceRules.DEFAULT_NAME_PATTERN + ", or empty for none");
    }
    return Optional.of(pattern);
  }

  private ParameterException invalid(String flag, Object value, String expected) {
    return new ParameterException(spec.commandLine(),
        "Invalid value for option '" + flag + "': '" + value + "' (expected: " + expected + ")");
  }

  private void validate() {
    if (serviceLabel.isBlank()) {
      throw invalid("--service-label", serviceLabel, "a label key such as " + ServiceRules.DEFAULT_SERVICE_LABEL);
    }
    if (GroupPolicy.parse(groupPolicy).isEmpty()) {
      throw invalid("--group-policy", groupPolicy, "any or all");
    }
    if (!expose.trim().equalsIgnoreCase("all") && !expose.trim().equalsIgnoreCase("labeled")) {
      throw invalid("--expose", expose, "all or labeled");
    }
    switch (logLevel.toLowerCase(Locale.ROOT)) {
      case "error", "warn", "info", "debug", "trace" -> { }
      default -> throw invalid("--log-level", logLevel, "error, warn, info, debug or trace");
    }
    if (resyncInterval.isZero()) {
      throw invalid("--resync-interval", "0s", "a duration > 0 such as 60s");
    }
    if (dockerTimeout.isZero()) {
      throw invalid("--docker-timeout", "0s", "a duration > 0 such as 5s");
    }
    if (maxWatchStreams <= 0) {
      throw invalid("--max-watch-streams", maxWatchStreams, "> 0");
    }
    if (maxWatchContainersStreams <= 0) {
      throw invalid("--max-watch-containers-streams", maxWatchContainersStreams, "> 0");
    }
    HttpFrontEnd.compatPrefixProblem(compatPrefix).ifPresent(expected -> {
      throw invalid("--compat-prefix", compatPrefix, expected);
    });
    if (httpMaxConnections <= 0) {
      throw invalid("--http-max-connections", httpMaxConnections, "> 0");
    }
    if (httpRequestTimeout.isZero()) {
      throw invalid("--http-request-timeout", "0s", "a duration > 0 such as 10s");
    }
    for (String host : allowedHosts()) {
      HttpFrontEnd.allowedHostProblem(host).ifPresent(expected -> {
        throw invalid("--http-allowed-hosts", host, expected);
      });
    }
    if (maxWatchStreamsPerConnection <= 0) {
      throw invalid("--max-watch-streams-per-connection", maxWatchStreamsPerConnection, "> 0");
    }
    if (grpcMaxConnections <= 0) {
      throw invalid("--grpc-max-connections", grpcMaxConnections, "> 0");
    }
    if (grpcMaxCallsPerConnection <= 0) {
      throw invalid("--grpc-max-calls-per-connection", grpcMaxCallsPerConnection, "> 0");
    }
    if (grpcHandshakeTimeout.isZero()) {
      throw invalid("--grpc-handshake-timeout", "0s", "a duration > 0 such as 10s");
    }
    if (grpcMaxConnectionIdle.isZero()) {
      throw invalid("--grpc-max-connection-idle", "0s", "a duration > 0 such as 5m");
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
