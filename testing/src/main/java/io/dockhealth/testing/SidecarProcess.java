package io.dockhealth.testing;

import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The sidecar as operators run it: the packaged jar ({@code server/target/dockhealth.jar}) in a
 * process of its own, pointed at a Docker engine, gRPC and the HTTP gateway on loopback ports (with
 * TLS if asked) or on unix sockets. Every module's tests and the benchmarks start it here.
 *
 * <pre>{@code
 * try (SidecarProcess sidecar = SidecarProcess.builder(engine.host()).start();
 *     HealthClient client = new HealthClient(sidecar.grpcSocketAddress())) {
 *   assertThat(client.check("web")).isEqualTo("SERVING");
 * }
 * }</pre>
 *
 * <p>{@link Builder#start()} returns once the sidecar says where it listens (its "gRPC listening on"
 * and "HTTP listening on" log lines, which also give the ports it took when asked for port 0), or,
 * with {@link Readiness#IN_SYNC}, once gRPC Check("") answers SERVING (over TLS or the unix socket
 * when it listens so: {@link #grpcChannel()}). The process's stdout and
 * stderr are collected line by line ({@link #log()}), and copied to a file if asked. {@link #stop()}
 * sends SIGTERM to its PID, then SIGKILL if it has not exited within 20 s; {@link #start()} starts it
 * again with the same settings, so a fixed port is where clients expect it. A shutdown hook kills
 * whatever a failed test left running.
 */
public final class SidecarProcess implements AutoCloseable {
  /** The system property naming the jar; failsafe sets it (see the modules' poms). */
  public static final String JAR_PROPERTY = "dockhealth.sidecar.jar";

  /** How the sidecar logs where it listens; the port is the one it took. */
  private static final Pattern LISTENING = Pattern.compile("(gRPC|HTTP) listening on (\\S+)");
  private static final Pattern REQUESTS =
      Pattern.compile("^dockhealth_http_requests_total\\{(.*)\\} ([0-9.eE+-]+)$", Pattern.MULTILINE);
  private static final Pattern LONG_POLLS =
      Pattern.compile("^dockhealth_http_long_polls ([0-9.eE+-]+)$", Pattern.MULTILINE);
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_GRACE = Duration.ofSeconds(20);
  private static final int MAX_LOG_LINES = 10_000;
  private static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

  /** The event loop of gRPC channels to unix sockets (grpc-netty wants one given with the channel type). */
  private static final EventLoopGroup UNIX_CHANNELS = new MultiThreadIoEventLoopGroup(1,
      new DefaultThreadFactory("sidecar-process-unix", true), NioIoHandler.newFactory());

  /** Sidecars not stopped yet; the shutdown hook kills whatever a failed or careless test left. */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> LIVE.forEach(Process::destroyForcibly), "sidecar-process-reaper"));
  }

  /** What {@link Builder#start()} and {@link #start()} wait for. */
  public enum Readiness {
    /** Both listeners are up ("" is NOT_SERVING until the sidecar has read Docker). */
    LISTENING,
    /** Listening, and gRPC Check("") answers SERVING: connected to Docker and resynced. */
    IN_SYNC,
  }

  private final Builder settings;
  private final Deque<String> log = new ArrayDeque<>(); // guarded by itself
  // Written by launch() under the lock, which starts, stops and kills take so as not to interleave;
  // read without it, so that waiting on the process (such as Awaitility's poller) needs no lock.
  private volatile Process process;
  private volatile Thread reader;
  private volatile CompletableFuture<Void> listening;
  private volatile long startedNanos;
  private volatile long grpcListeningNanos;
  private volatile int grpcPort;
  private volatile int httpPort;
  private boolean paused; // guarded by this
  private volatile boolean grpcListening;
  private volatile boolean httpListening;

  private SidecarProcess(Builder settings) {
    this.settings = settings;
  }

  /** The packaged jar: the {@value #JAR_PROPERTY} property, else {@code ../server/target/dockhealth.jar}. */
  public static Path defaultJar() {
    return Path.of(System.getProperty(JAR_PROPERTY, "../server/target/dockhealth.jar"));
  }

  /**
   * A sidecar for the Docker engine at {@code dockerHost} (such as {@link DockerEngine#host()} or
   * {@link DockerProxy#host()}): by default the {@linkplain #defaultJar() packaged jar} on this JVM's
   * JDK, gRPC and HTTP on any free port of 127.0.0.1, {@code --drain-period 0s}.
   */
  public static Builder builder(String dockerHost) {
    return new Builder(dockerHost);
  }

  /** How to run the sidecar. Each setter returns this builder. */
  public static final class Builder {
    private final String dockerHost;
    private Path jar = defaultJar();
    private Path launcher;
    private List<String> jvmOptions = List.of();
    private int grpcPort;
    private int httpPort;
    private String drainPeriod = "0s";
    private List<String> flags = List.of();
    private Path logFile;
    private Readiness readiness = Readiness.LISTENING;
    private Path grpcSocket;
    private Path httpSocket;
    private TestCertificates certificates;
    private boolean mutualTls;
    private int fileDescriptorLimit;

    private Builder(String dockerHost) {
      this.dockerHost = dockerHost;
    }

    public Builder jar(Path jar) {
      this.jar = jar;
      return this;
    }

    /**
     * Runs the sidecar through {@code launcher}, the packaged launcher ({@code dist/src/bin/dockhealth})
     * installed beside a {@code lib/dockhealth.jar}, with its JVM options, on this JVM's JDK ({@code
     * JAVA_HOME}) unless a runtime is installed beside it; {@link #jvmOptions} then go in {@code
     * DOCKHEALTH_JAVA_OPTS}, and {@link #jar} is not used.
     */
    public Builder launcher(Path launcher) {
      this.launcher = launcher;
      return this;
    }

    /** Options for the JVM, before {@code -jar}; none by default, as operators run it. */
    public Builder jvmOptions(List<String> jvmOptions) {
      this.jvmOptions = List.copyOf(jvmOptions);
      return this;
    }

    /** The gRPC port on 127.0.0.1; 0 (the default) takes a free one at every start. */
    public Builder grpcPort(int port) {
      this.grpcPort = port;
      return this;
    }

    /** The HTTP gateway's port on 127.0.0.1; 0 (the default) takes a free one at every start. */
    public Builder httpPort(int port) {
      this.httpPort = port;
      return this;
    }

    /** gRPC on the unix socket {@code socket} instead of a port. */
    public Builder grpcSocket(Path socket) {
      this.grpcSocket = socket.toAbsolutePath();
      return this;
    }

    /** The HTTP gateway on the unix socket {@code socket} instead of a port. */
    public Builder httpSocket(Path socket) {
      this.httpSocket = socket.toAbsolutePath();
      return this;
    }

    /**
     * TLS on the TCP listeners with {@code certificates}' server certificate; with {@code mutual},
     * client certificates of their CA are required, and this class's own clients ({@link
     * #awaitInSync()}, {@link #metrics()}) present {@link TestCertificates#client()}.
     */
    public Builder tls(TestCertificates certificates, boolean mutual) {
      this.certificates = certificates;
      this.mutualTls = mutual;
      return this;
    }

    /** {@code --drain-period}; {@code 0s} by default, so that stopping takes no time. */
    public Builder drainPeriod(String drainPeriod) {
      this.drainPeriod = drainPeriod;
      return this;
    }

    /** More flags, after the ones this builder sets (which they must not repeat). */
    public Builder flags(String... flags) {
      this.flags = List.of(flags);
      return this;
    }

    /** Also appends every line the process writes to {@code file} (its directory is created). */
    public Builder logFile(Path file) {
      this.logFile = file;
      return this;
    }

    public Builder readiness(Readiness readiness) {
      this.readiness = readiness;
      return this;
    }

    /**
     * Starts the JVM under {@code ulimit -n limit} (soft and hard), through {@code /bin/sh}, which
     * execs it, so {@link #pid()} is the JVM's; 0 (the default) keeps this process's limit.
     */
    public Builder fileDescriptorLimit(int limit) {
      this.fileDescriptorLimit = limit;
      return this;
    }

    /**
     * Starts the process and waits (at most 60 s) until it is ready.
     *
     * @throws IllegalStateException if it exits first or is not ready in time (then it is killed);
     *     the message carries its log
     */
    public SidecarProcess start() {
      SidecarProcess sidecar = new SidecarProcess(this);
      sidecar.start();
      return sidecar;
    }

    /** Starts the process and returns at once, for a sidecar expected to fail (see {@link #awaitExit}). */
    public SidecarProcess launch() {
      SidecarProcess sidecar = new SidecarProcess(this);
      sidecar.launch();
      return sidecar;
    }
  }

  /**
   * Starts the process again with the same settings (after {@link #stop()} or {@link #kill()}) and
   * waits until it is ready, as {@link Builder#start()} does.
   */
  public synchronized void start() {
    start(settings.readiness);
  }

  /**
   * Like {@link #start()}, waiting for {@code readiness} this time: e.g. {@link Readiness#LISTENING}
   * for a restart while Docker is away, of a sidecar built to wait until it is in sync.
   */
  public synchronized void start(Readiness readiness) {
    launch();
    try {
      awaitListening();
      if (readiness == Readiness.IN_SYNC) {
        awaitInSync();
      }
    } catch (RuntimeException | Error e) {
      kill();
      throw e;
    }
  }

  private synchronized void launch() {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("the sidecar is running (pid " + process.pid() + ")");
    }
    Path program = settings.launcher != null ? settings.launcher : settings.jar;
    if (!Files.isRegularFile(program)) {
      throw new IllegalStateException(program.toAbsolutePath()
          + " is missing: build it first (mvn -B -q -DskipTests package)");
    }
    String javaHome = System.getProperty("java.home");
    List<String> command = new ArrayList<>();
    if (settings.launcher != null) {
      command.add(settings.launcher.toString());
    } else {
      command.add(Path.of(javaHome, "bin", "java").toString());
      command.addAll(settings.jvmOptions);
      command.addAll(List.of("-jar", settings.jar.toString()));
    }
    command.addAll(List.of(
        "--docker-host", settings.dockerHost,
        "--grpc-address", settings.grpcSocket != null ? "unix://" + settings.grpcSocket : "127.0.0.1:" + settings.grpcPort,
        "--http-address", settings.httpSocket != null ? "unix://" + settings.httpSocket : "127.0.0.1:" + settings.httpPort,
        "--drain-period", settings.drainPeriod));
    if (settings.certificates != null) {
      command.addAll(settings.certificates.serverFlags(settings.mutualTls));
    }
    command.addAll(settings.flags);
    if (settings.fileDescriptorLimit > 0) {
      // sh passes the command on as "$0" "$@", untouched by quoting.
      command.addAll(0, List.of("/bin/sh", "-c", "ulimit -n " + settings.fileDescriptorLimit + " && exec \"$0\" \"$@\""));
    }
    ProcessBuilder builder = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    // Only the flags configure it: not the DOCKER_HOST or DOCKHEALTH_* of whoever runs the tests.
    Map<String, String> env = builder.environment();
    env.keySet().removeIf(name -> name.equals("DOCKER_HOST") || name.startsWith("DOCKHEALTH_"));
    if (settings.launcher != null) {
      env.put("JAVA_HOME", javaHome);
      env.put("DOCKHEALTH_JAVA_OPTS", String.join(" ", settings.jvmOptions));
    }
    Writer copy = null;
    try {
      if (settings.logFile != null) {
        Files.createDirectories(settings.logFile.toAbsolutePath().getParent());
        copy = Files.newBufferedWriter(settings.logFile, StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
      grpcPort = 0;
      httpPort = 0;
      grpcListening = false;
      httpListening = false;
      startedNanos = System.nanoTime();
      process = builder.start();
    } catch (IOException e) {
      closeQuietly(copy);
      throw new UncheckedIOException("cannot start " + command, e);
    }
    LIVE.add(process);
    listening = new CompletableFuture<>();
    Process started = process;
    CompletableFuture<Void> ready = listening;
    Writer file = copy;
    reader = new Thread(() -> read(started, ready, file), "sidecar-" + started.pid() + "-log");
    reader.setDaemon(true);
    reader.start();
  }

  /** Collects the process's lines until it closes its output, noting where it listens. */
  private void read(Process started, CompletableFuture<Void> ready, Writer file) {
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(started.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        addLine(line);
        if (file != null) {
          file.write(line);
          file.write('\n');
          file.flush();
        }
        Matcher m = LISTENING.matcher(line);
        if (m.find()) {
          // host:port, or unix:///path, which has no port
          String address = m.group(2);
          int port = address.startsWith("unix:") ? 0 : Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
          if (m.group(1).equals("gRPC")) {
            grpcListeningNanos = System.nanoTime();
            grpcPort = port;
            grpcListening = true;
          } else {
            httpPort = port;
            httpListening = true;
          }
          if (grpcListening && httpListening) {
            ready.complete(null);
          }
        }
      }
    } catch (IOException | UncheckedIOException e) {
      addLine("(log ends: " + e + ")");
    } finally {
      closeQuietly(file);
      ready.completeExceptionally(new IllegalStateException("the sidecar closed its output before listening"));
    }
  }

  private void addLine(String line) {
    synchronized (log) {
      if (log.size() == MAX_LOG_LINES) {
        log.removeFirst();
      }
      log.addLast(line);
    }
  }

  private void awaitListening() {
    try {
      listening.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      OptionalInt exit = awaitExit(Duration.ofSeconds(10));
      throw new IllegalStateException("the sidecar "
          + (exit.isPresent() ? "exited with " + exit.getAsInt() : "stopped logging")
          + " before it listened:\n" + String.join("\n", log()), e);
    } catch (TimeoutException e) {
      throw new IllegalStateException("the sidecar did not listen within " + READY_TIMEOUT.toSeconds() + " s:\n"
          + String.join("\n", log()), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Waits (at most 60 s) until gRPC Check("") answers SERVING: connected to Docker and resynced. */
  public void awaitInSync() {
    try (HealthClient client = new HealthClient(grpcChannel())) {
      await().atMost(READY_TIMEOUT).pollInterval(Duration.ofMillis(100)).until(() -> {
        if (!isAlive()) {
          throw new IllegalStateException("the sidecar exited:\n" + String.join("\n", log()));
        }
        return client.check("").equals("SERVING");
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** The gRPC port it listens on (the one it took, when asked for port 0). */
  public int grpcPort() {
    return grpcPort;
  }

  /** The HTTP gateway's port (the one it took, when asked for port 0). */
  public int httpPort() {
    return httpPort;
  }

  /** {@code 127.0.0.1:port} of gRPC, as clients and the probe take it. */
  public String grpcAddress() {
    return "127.0.0.1:" + grpcPort;
  }

  /** {@code 127.0.0.1:port} of the HTTP gateway, as nginx and the Lua module take it. */
  public String httpAddress() {
    return "127.0.0.1:" + httpPort;
  }

  public InetSocketAddress grpcSocketAddress() {
    return new InetSocketAddress("127.0.0.1", grpcPort);
  }

  /**
   * A new gRPC channel to the sidecar, however it listens: its unix socket, TLS trusting the test
   * CA (presenting the test client certificate for mutual TLS), or plaintext TCP. The caller shuts
   * it down.
   */
  public ManagedChannel grpcChannel() {
    if (settings.grpcSocket != null) {
      return NettyChannelBuilder.forAddress(UnixDomainSocketAddress.of(settings.grpcSocket))
          .channelType(NioDomainSocketChannel.class, UnixDomainSocketAddress.class)
          .withOption(ChannelOption.SO_KEEPALIVE, null) // not a unix socket's option: Netty would warn
          .eventLoopGroup(UNIX_CHANNELS)
          .usePlaintext()
          .build();
    }
    NettyChannelBuilder channel = NettyChannelBuilder.forAddress(grpcSocketAddress());
    return settings.certificates == null
        ? channel.usePlaintext().build()
        : channel.sslContext(settings.certificates.grpcClientContext(clientCertificate())).build();
  }

  private TestCertificates.Issued clientCertificate() {
    return settings.mutualTls ? settings.certificates.client() : null;
  }

  /**
   * GETs {@code target} from the HTTP gateway, however it listens (as {@link #grpcChannel()}).
   *
   * @return the status code and the body
   */
  public UnixHttp.Response httpGet(String target) {
    try {
      if (settings.httpSocket != null) {
        return UnixHttp.get(settings.httpSocket, target, Duration.ofSeconds(10));
      }
      HttpClient client = settings.certificates == null ? HTTP : HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .sslContext(settings.certificates.jdkClientContext(clientCertificate()))
          .build();
      String scheme = settings.certificates == null ? "http://" : "https://";
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(scheme + httpAddress() + target))
          .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return new UnixHttp.Response(response.statusCode(), "", response.body());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + target + " from " + this + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  public long pid() {
    return process.pid();
  }

  /** {@link System#nanoTime()} just before the process was started. */
  public long startedNanos() {
    return startedNanos;
  }

  /** {@link System#nanoTime()} when the "gRPC listening on" line came, for start-up times. */
  public long grpcListeningNanos() {
    return grpcListeningNanos;
  }

  /** What the process wrote (its last 10,000 lines), across restarts, oldest first. */
  public List<String> log() {
    synchronized (log) {
      return List.copyOf(log);
    }
  }

  public boolean isAlive() {
    Process current = process;
    return current != null && current.isAlive();
  }

  /**
   * Sends SIGTERM and returns at once, e.g. to watch the drain. Sent through the process handle: unlike
   * {@link Process#destroy()} it leaves the log stream open.
   */
  public void terminate() {
    process.toHandle().destroy();
  }

  /**
   * Waits at most {@code timeout} for the process to exit, then (for a complete {@link #log()}) for
   * the rest of its output.
   *
   * @return its exit code, or empty if it still runs
   */
  public OptionalInt awaitExit(Duration timeout) {
    Process current = process;
    Thread lines = reader;
    try {
      if (!current.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return OptionalInt.empty();
      }
      lines.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
    LIVE.remove(current);
    return OptionalInt.of(current.exitValue());
  }

  /**
   * SIGSTOP, as a hang: the process keeps its sockets (the kernel still accepts connections) but
   * answers nothing until {@link #resume()}.
   */
  public synchronized void pause() {
    signal("STOP");
    paused = true;
  }

  /** SIGCONT after {@link #pause()}. */
  public synchronized void resume() {
    signal("CONT");
    paused = false;
  }

  private void signal(String name) {
    Command.signal(process.pid(), name);
  }

  /** SIGTERM, as {@code docker stop} sends; SIGKILL after 20 s. Returns once the process is gone. */
  public synchronized void stop() {
    if (process == null || !process.isAlive()) {
      return;
    }
    if (paused) {
      resume(); // a stopped JVM would not act on SIGTERM
    }
    terminate();
    if (awaitExit(STOP_GRACE).isEmpty()) {
      kill();
    }
  }

  /** SIGKILL, as a crash: no drain, connections cut. Returns once the process is gone. */
  public synchronized void kill() {
    if (process == null) {
      return;
    }
    process.toHandle().destroyForcibly(); // SIGKILL ends a stopped process too
    paused = false;
    if (awaitExit(Duration.ofSeconds(10)).isEmpty()) {
      throw new IllegalStateException("the sidecar (pid " + process.pid() + ") survived SIGKILL");
    }
  }

  /** Stops the process if it runs ({@link #stop()}). */
  @Override
  public void close() {
    stop();
  }

  /** HTTP requests the gateway has answered, from its {@code /metrics}; {@code /metrics} and {@code /healthz} left out. */
  public long httpRequestsServed() {
    long total = 0;
    Matcher m = REQUESTS.matcher(metrics());
    while (m.find()) {
      if (!m.group(1).contains("route=\"/metrics\"") && !m.group(1).contains("route=\"/healthz\"")) {
        total += (long) Double.parseDouble(m.group(2));
      }
    }
    return total;
  }

  /** Long-polls of {@code GET /v1/health} waiting now, from {@code /metrics}. */
  public int httpLongPolls() {
    Matcher m = LONG_POLLS.matcher(metrics());
    if (!m.find()) {
      throw new IllegalStateException("no dockhealth_http_long_polls in /metrics");
    }
    return (int) Double.parseDouble(m.group(1));
  }

  /** The gateway's {@code GET /metrics}, in the Prometheus text format. */
  public String metrics() {
    UnixHttp.Response response = httpGet("/metrics");
    if (response.status() != 200) {
      throw new IllegalStateException("GET /metrics: " + response.status() + " " + response.body());
    }
    return response.body();
  }

  @Override
  public String toString() {
    return "SidecarProcess[grpc " + (settings.grpcSocket != null ? "unix://" + settings.grpcSocket : grpcAddress())
        + ", http " + (settings.httpSocket != null ? "unix://" + settings.httpSocket : httpAddress()) + "]";
  }

  private static void closeQuietly(Writer writer) {
    if (writer == null) {
      return;
    }
    try {
      writer.close();
    } catch (IOException ignored) {
      // the copy is a convenience; the lines are in log() too
    }
  }
}
