package io.dockhealth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A private Docker engine for integration tests: its own dockerd (and the containerd that dockerd
 * supervises) on its own unix socket, data root and exec root under {@code /tmp/dockhealth-it}. Tests
 * may {@link #stop()} and {@link #restart()} it without touching any other engine on the machine.
 *
 * <p>Every engine starts with the test image {@link #IMAGE} (busybox-static, imported, never
 * pulled: no registry is reachable). Containers need {@code --network host}: the engine runs with
 * {@code --bridge=none}, so there is no default bridge network to publish ports from.
 *
 * <p>The daemon runs with {@code --init}, so every container gets tini as PID 1 and a plain
 * {@code sleep} dies on SIGTERM; without it {@code docker stop} and daemon shutdown wait the full
 * 10 s stop timeout per container.
 *
 * <p>Needs root, {@code dockerd} (Debian docker.io), {@code /usr/bin/docker} and a static
 * {@code /bin/busybox} (busybox-static); {@code scripts/test} installs them. A missing piece fails
 * the test: nothing here skips.
 */
public final class DockerEngine implements AutoCloseable {

  /** The test image every engine has: busybox-static with a symlink for every applet, and /tmp. */
  public static final String IMAGE = "dockhealth-test/busybox:1";

  /** The Docker CLI to use. An older client sits earlier on PATH in /usr/local/bin on these machines. */
  public static final String DOCKER_CLI = "/usr/bin/docker";

  private static final Path BASE = Path.of("/tmp/dockhealth-it");
  private static final Path BUSYBOX = Path.of("/bin/busybox");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration CLI_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STOP_GRACE = Duration.ofSeconds(20);
  private static final int MAX_UNIX_SOCKET_PATH = 107; // sun_path is 108 bytes including the NUL
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Engines not yet closed; the shutdown hook closes whatever a crashed or careless test left. */
  private static final Set<DockerEngine> LIVE = ConcurrentHashMap.newKeySet();

  private static Path rootfsTar; // guarded by DockerEngine.class
  private static boolean orphansReaped; // guarded by DockerEngine.class

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(DockerEngine::reapAll, "dockhealth-it-engine-reaper"));
  }

  private final List<String> extraFlags;
  private final String id;
  private final Path dir;
  private final Path socket;
  private final Path log;
  private Process dockerd; // guarded by this
  private boolean paused; // guarded by this
  private boolean closed; // guarded by this

  private DockerEngine(String id, Path dir, List<String> extraFlags) {
    this.extraFlags = List.copyOf(extraFlags);
    this.id = id;
    this.dir = dir;
    this.socket = dir.resolve("docker.sock");
    this.log = dir.resolve("dockerd.log");
  }

  /**
   * Starts a fresh engine in a new directory {@code /tmp/dockhealth-it/<name>-<random>} and imports
   * {@link #IMAGE} into it. Blocks until the engine answers (at most about a minute).
   *
   * @param name a short label for the directory (other characters than letters, digits and '-'
   *     become '-'; cut to 24 characters, as unix socket paths must stay short)
   * @throws IllegalStateException if dockerd does not come up; the message carries its log's tail
   */
  public static DockerEngine start(String name) {
    return start(name, new String[0]);
  }

  /**
   * Like {@link #start(String)}, with more dockerd flags, such as {@code --live-restore} (containers
   * keep running while the daemon is stopped).
   */
  public static DockerEngine start(String name, String... extraFlags) {
    String label = name.replaceAll("[^A-Za-z0-9-]+", "-").replaceAll("-{2,}", "-");
    label = label.substring(0, Math.min(label.length(), 24)).replaceAll("^-+|-+$", "");
    byte[] bytes = new byte[3];
    RANDOM.nextBytes(bytes);
    String random = HexFormat.of().formatHex(bytes);
    if (label.isEmpty()) {
      label = "engine";
    }
    Path dir = BASE.resolve(label + "-" + random);
    reapOrphansOnce();
    try {
      Files.createDirectories(BASE);
      Files.createDirectory(dir);
      writeOwner(dir);
      // An empty config file of our own: /etc/docker/daemon.json may clash with our flags.
      Files.writeString(dir.resolve("daemon.json"), "{}\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
    DockerEngine engine = new DockerEngine(random, dir, List.of(extraFlags));
    LIVE.add(engine);
    try {
      synchronized (engine) {
        engine.launch();
      }
      engine.importTestImage();
      return engine;
    } catch (RuntimeException | Error e) {
      try {
        engine.close();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  /** The engine's address for a Docker client, {@code unix:///tmp/dockhealth-it/.../docker.sock}. */
  public String host() {
    return "unix://" + socket;
  }

  /** The engine's unix socket, e.g. for {@link DockerProxy#start(Path)}. */
  public Path socketPath() {
    return socket;
  }

  /** The engine's own directory (data root, exec root, socket, dockerd.log). */
  public Path dir() {
    return dir;
  }

  /** Whether dockerd is running (it may still be starting or stopping). */
  public synchronized boolean isRunning() {
    return dockerd != null && dockerd.isAlive();
  }

  /**
   * Runs {@code /usr/bin/docker -H <host> args...} (at most 60 s) and returns its trimmed stdout.
   *
   * @throws IllegalStateException naming the command, exit code and stderr if it fails or times out
   */
  public String docker(String... args) {
    return dockerAt(host(), args);
  }

  /**
   * Runs {@code /usr/bin/docker -H <host> args...} against any host, e.g. a {@link DockerProxy}'s.
   *
   * @throws IllegalStateException naming the command, exit code and stderr if it fails or times out
   */
  public static String dockerAt(String host, String... args) {
    List<String> command = new ArrayList<>(List.of(DOCKER_CLI, "-H", host));
    command.addAll(Arrays.asList(args));
    return run(command, null, CLI_TIMEOUT).orThrow().trim();
  }

  /**
   * Every container of this engine as Docker itself reports it ({@code docker ps -a}, then {@code
   * docker inspect}): full ID to {@code "name state health"}, health being the HEALTHCHECK status
   * or {@code none}. For comparing a model with the truth once the engine is quiet.
   */
  public Map<String, String> containerStates() {
    String ids = docker("ps", "-aq", "--no-trunc");
    if (ids.isEmpty()) {
      return Map.of();
    }
    // The CLI formats the raw JSON, where .State.Health is missing for a container without a
    // HEALTHCHECK (or one not yet started): index yields nothing for a missing key, a lookup fails.
    // No JSON library here: the client and lua modules' tests use this class without one.
    List<String> inspect = new ArrayList<>(List.of("container", "inspect", "--format",
        "{{.Id}} {{.Name}} {{.State.Status}} {{with index .State \"Health\"}}{{.Status}}{{else}}none{{end}}"));
    inspect.addAll(Arrays.asList(ids.split("\\s+")));
    Map<String, String> states = new TreeMap<>();
    for (String line : docker(inspect.toArray(String[]::new)).split("\n")) {
      String[] fields = line.trim().split(" ", 2);
      states.put(fields[0], fields[1].substring(1)); // the name without Docker's leading "/"
    }
    return states;
  }

  /**
   * Freezes this engine's dockerd with SIGSTOP: it keeps its socket and connections but answers
   * nothing, as a hung daemon does. Containers (under containerd, which is not stopped) keep
   * running. Only this engine's own dockerd process is signalled. {@link #docker} calls block
   * until {@link #resume()}, so make none in between.
   */
  public synchronized void pause() {
    if (dockerd == null || !dockerd.isAlive()) {
      throw new IllegalStateException("dockerd of " + dir + " is not running");
    }
    signal("STOP");
    paused = true;
  }

  /** Lets a {@link #pause() paused} dockerd run again (SIGCONT). Does nothing if it is not paused. */
  public synchronized void resume() {
    if (paused && dockerd != null && dockerd.isAlive()) {
      signal("CONT");
    }
    paused = false;
  }

  /** The pid of this engine's dockerd. */
  public synchronized long pid() {
    if (dockerd == null) {
      throw new IllegalStateException("dockerd of " + dir + " is not running");
    }
    return dockerd.pid();
  }

  private void signal(String name) {
    run(List.of("kill", "-" + name, Long.toString(dockerd.pid())), null, CLI_TIMEOUT).orThrow();
  }

  /**
   * Stops dockerd: SIGTERM, then SIGKILL if it has not exited within 20 s. Returns once dockerd, its
   * containerd and any container shims of this engine are gone. A stopped engine keeps its data;
   * {@link #restart()} brings it back. Does nothing if dockerd is not running.
   */
  public synchronized void stop() {
    stop(extraFlags.contains("--live-restore"));
  }

  /**
   * @param keepContainers leave containerd and the shims alone, so containers outlive the daemon
   *     (--live-restore); otherwise make sure nothing of this engine is left running
   */
  private synchronized void stop(boolean keepContainers) {
    resume(); // a stopped process would take SIGTERM only when continued
    Process process = dockerd;
    dockerd = null;
    if (process == null) {
      if (!keepContainers) {
        daemonsIn(dir).forEach(DockerEngine::kill); // what a --live-restore stop left running
      }
      return;
    }
    // containerd is dockerd's child: note it now, it is reparented to init once dockerd is gone.
    List<ProcessHandle> children = process.descendants().collect(Collectors.toList());
    process.destroy(); // SIGTERM: dockerd stops its containers, then containerd, then itself
    if (!waitFor(process.toHandle(), STOP_GRACE)) {
      process.destroyForcibly();
      waitFor(process.toHandle(), Duration.ofSeconds(10));
    }
    if (keepContainers) {
      return;
    }
    for (ProcessHandle child : children) {
      if (!waitFor(child, Duration.ofSeconds(10))) {
        kill(child);
      }
    }
    // Normally nothing is left; after a SIGKILL, containerd and shims of this engine may be.
    for (ProcessHandle straggler : daemonsIn(dir)) {
      kill(straggler);
    }
    if (process.isAlive()) {
      throw new IllegalStateException("dockerd " + process.pid() + " survived SIGKILL");
    }
  }

  /**
   * Starts dockerd again on the same directories (stopping it first if it runs) and waits until it
   * answers. Images and containers survive; containers that ran are stopped by the daemon's shutdown.
   */
  public synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("engine " + dir + " is closed");
    }
    stop();
    launch();
  }

  /** Stops dockerd if it runs and deletes the engine's directory. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      removeAllContainers();
      stop(false);
    } finally {
      LIVE.remove(this);
      deleteTree(dir);
    }
  }

  /**
   * Removes every container of this engine ({@code docker rm -f}), as between tests that share an
   * engine; and before the daemon stops, since with --live-restore containers would outlive it. A
   * failure is printed, not thrown.
   */
  public void removeAllContainers() {
    resume();
    if (!isRunning()) {
      return;
    }
    try {
      String ids = docker("ps", "-aq");
      if (!ids.isEmpty()) {
        List<String> rm = new ArrayList<>(List.of("rm", "-f"));
        rm.addAll(List.of(ids.split("\\s+")));
        docker(rm.toArray(String[]::new));
      }
    } catch (RuntimeException e) {
      System.err.println("DockerEngine " + dir + ": could not remove containers before stopping: " + e.getMessage());
    }
  }

  /** The last lines of dockerd.log, for failure messages. */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  @Override
  public String toString() {
    return "DockerEngine[" + host() + "]";
  }

  // ---------------------------------------------------------------------------------------------

  private void launch() {
    if (socket.toString().length() > MAX_UNIX_SOCKET_PATH - 30) {
      // containerd's sockets live deeper: exec/containerd/containerd.sock.ttrpc
      throw new IllegalStateException("engine directory path too long for unix sockets: " + dir);
    }
    try {
      // A pidfile left by a SIGKILLed dockerd would name a dead (or by now reused) pid.
      Files.deleteIfExists(dir.resolve("docker.pid"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> command = new ArrayList<>(
        List.of(
            dockerdBinary(),
            "--config-file=" + dir.resolve("daemon.json"),
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--init",
            "--shutdown-timeout=1",
            // Only matters if a system containerd runs at /run/containerd (dockerd then uses it
            // instead of starting its own): keep this engine's containers apart from others'.
            "--containerd-namespace=dhit" + id,
            "--containerd-plugins-namespace=dhit" + id + "-plugins",
            "-H",
            "unix://" + socket,
            "--data-root=" + dir.resolve("data"),
            "--exec-root=" + dir.resolve("exec"),
            "--pidfile=" + dir.resolve("docker.pid")));
    command.addAll(extraFlags);
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    try {
      dockerd = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    Result last = null;
    while (System.nanoTime() < deadline) {
      if (!dockerd.isAlive()) {
        int exit = dockerd.exitValue();
        dockerd = null;
        daemonsIn(dir).forEach(DockerEngine::kill); // a containerd it may have left
        throw new IllegalStateException(
            "dockerd exited with code " + exit + " before answering on " + socket
                + "; tail of " + log + ":\n" + logTail(40));
      }
      if (Files.exists(socket)) {
        last =
            run(
                List.of(DOCKER_CLI, "-H", host(), "version", "--format", "{{.Server.Version}}"),
                null,
                Duration.ofSeconds(10));
        if (last.exitCode == 0) {
          return;
        }
      }
      awaitExit(dockerd, Duration.ofMillis(100)); // a pause that ends early if dockerd dies
    }
    stop();
    throw new IllegalStateException(
        "dockerd did not answer on " + socket + " within " + START_TIMEOUT.toSeconds() + " s"
            + (last == null ? "" : " (last docker version: " + last.describe() + ")")
            + "; tail of " + log + ":\n" + logTail(40));
  }

  private void importTestImage() {
    List<String> command = List.of(DOCKER_CLI, "-H", host(), "import", "-", IMAGE);
    run(command, testImageTar(), CLI_TIMEOUT).orThrow();
  }

  /**
   * The test image's root filesystem as a tar (the equivalent of {@code tar -C rootfs -c .}), built
   * once per JVM: bin/busybox, a symlink in bin/ for every applet, an empty tmp/.
   */
  private static synchronized Path testImageTar() {
    if (rootfsTar != null) {
      return rootfsTar;
    }
    if (!Files.isExecutable(BUSYBOX)) {
      throw new IllegalStateException(BUSYBOX + " is missing: install busybox-static");
    }
    try {
      Files.createDirectories(BASE);
      Path work = Files.createTempDirectory(BASE, "rootfs-");
      writeOwner(work);
      Path rootfs = work.resolve("rootfs");
      Path bin = Files.createDirectories(rootfs.resolve("bin"));
      Files.copy(BUSYBOX, bin.resolve("busybox"), StandardCopyOption.COPY_ATTRIBUTES);
      String applets = run(List.of(BUSYBOX.toString(), "--list"), null, CLI_TIMEOUT).orThrow();
      for (String applet : applets.split("\n")) {
        applet = applet.trim();
        if (!applet.isEmpty() && !applet.equals("busybox") && !applet.contains("/")) {
          Files.createSymbolicLink(bin.resolve(applet), Path.of("busybox"));
        }
      }
      Path tmp = Files.createDirectories(rootfs.resolve("tmp"));
      run(List.of("chmod", "1777", tmp.toString()), null, CLI_TIMEOUT).orThrow();
      Path tar = work.resolve("rootfs.tar");
      run(
              List.of(
                  "tar", "--numeric-owner", "--owner=0", "--group=0",
                  "-C", rootfs.toString(), "-cf", tar.toString(), "."),
              null,
              CLI_TIMEOUT)
          .orThrow();
      run(List.of("rm", "-rf", rootfs.toString()), null, CLI_TIMEOUT).orThrow();
      rootfsTar = tar;
      return tar;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot build the test image's rootfs", e);
    }
  }

  private static String dockerdBinary() {
    for (String candidate : List.of("/usr/sbin/dockerd", "/usr/bin/dockerd")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return candidate;
      }
    }
    String path = System.getenv().getOrDefault("PATH", "");
    for (String entry : path.split(":")) {
      if (!entry.isEmpty() && Files.isExecutable(Path.of(entry, "dockerd"))) {
        return Path.of(entry, "dockerd").toString();
      }
    }
    throw new IllegalStateException("dockerd not found: install docker.io (scripts/test does)");
  }

  /** dockerd, containerd and shim processes whose command line names {@code dir}. */
  private static List<ProcessHandle> daemonsIn(Path dir) {
    String marker = dir + "/";
    List<ProcessHandle> found = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path proc : (Iterable<Path>) procs::iterator) {
        String pidText = proc.getFileName().toString();
        if (!pidText.chars().allMatch(Character::isDigit)) {
          continue;
        }
        String[] argv;
        try {
          argv = new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8)
              .split("\0");
        } catch (IOException gone) {
          continue;
        }
        String exe = argv[0].substring(argv[0].lastIndexOf('/') + 1);
        boolean daemon = exe.startsWith("dockerd") || exe.startsWith("containerd");
        if (daemon && Arrays.stream(argv).anyMatch(arg -> arg.contains(marker))) {
          ProcessHandle.of(Long.parseLong(pidText)).ifPresent(found::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  /** SIGKILLs a process after its descendants (a shim's are the container's processes). */
  private static void kill(ProcessHandle process) {
    List<ProcessHandle> descendants = process.descendants().collect(Collectors.toList());
    for (ProcessHandle descendant : descendants) {
      descendant.destroyForcibly();
    }
    process.destroyForcibly();
    waitFor(process, Duration.ofSeconds(10));
  }

  private static boolean waitFor(ProcessHandle process, Duration timeout) {
    try {
      process.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return !process.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !process.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    }
  }

  /**
   * Removes an engine's directory. dockerd leaves mounts behind (exec/netns/default even after a
   * clean shutdown), and vfs layers may hold read-only directories: unmount, then {@code rm -rf}.
   */
  private static void deleteTree(Path dir) {
    for (int round = 0; round < 10; round++) {
      List<String> mounts = mountsUnder(dir);
      if (mounts.isEmpty()) {
        break;
      }
      for (String mount : mounts) {
        run(List.of("umount", "-l", mount), null, CLI_TIMEOUT); // best effort; checked below
      }
    }
    Result rm = run(List.of("rm", "-rf", dir.toString()), null, CLI_TIMEOUT);
    if (rm.exitCode != 0) {
      throw new IllegalStateException("cannot delete " + dir + ": " + rm.describe());
    }
  }

  /** Mount points at or below {@code dir}, deepest first (stacked mounts are listed once each). */
  private static List<String> mountsUnder(Path dir) {
    String root = dir.toString();
    try {
      return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
          .map(line -> line.split(" "))
          .filter(fields -> fields.length > 4)
          .map(fields -> unescapeMountPath(fields[4]))
          .filter(mount -> mount.equals(root) || mount.startsWith(root + "/"))
          .sorted(Comparator.comparingInt(String::length).reversed())
          .collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String unescapeMountPath(String field) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Marks a directory under /tmp/dockhealth-it as this JVM's, for {@link #reapOrphansOnce()}. */
  private static void writeOwner(Path dir) throws IOException {
    Files.writeString(dir.resolve("owner.pid"), ProcessHandle.current().pid() + "\n");
  }

  /**
   * Once per JVM: removes what a SIGKILLed test JVM (no shutdown hook ran) left under
   * /tmp/dockhealth-it, i.e. directories whose owner.pid names a process that is gone, and the
   * daemons still running in them. Directories of live JVMs, or without an owner yet, stay.
   */
  private static void reapOrphansOnce() {
    synchronized (DockerEngine.class) {
      if (orphansReaped) {
        return;
      }
      orphansReaped = true;
    }
    if (!Files.isDirectory(BASE)) {
      return;
    }
    List<Path> dirs;
    try (Stream<Path> list = Files.list(BASE)) {
      dirs = list.collect(Collectors.toList());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Path dir : dirs) {
      long owner;
      try {
        owner = Long.parseLong(Files.readString(dir.resolve("owner.pid")).trim());
      } catch (IOException | NumberFormatException e) {
        continue; // not an engine's directory, or its owner has not written the file yet
      }
      if (ProcessHandle.of(owner).map(ProcessHandle::isAlive).orElse(false)) {
        continue;
      }
      try {
        daemonsIn(dir).forEach(DockerEngine::kill);
        deleteTree(dir);
      } catch (RuntimeException e) {
        System.err.println("dockhealth-it: cannot remove orphaned " + dir + ": " + e);
      }
    }
  }

  private static void reapAll() {
    for (DockerEngine engine : List.copyOf(LIVE)) {
      try {
        engine.close();
      } catch (RuntimeException e) {
        System.err.println("dockhealth-it: cannot clean up " + engine + ": " + e);
      }
    }
    Path tar;
    synchronized (DockerEngine.class) {
      tar = rootfsTar;
      rootfsTar = null;
    }
    if (tar != null) {
      run(List.of("rm", "-rf", tar.getParent().toString()), null, CLI_TIMEOUT);
    }
  }

  private static void awaitExit(Process process, Duration duration) {
    try {
      process.waitFor(duration.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** The outcome of one command. */
  private static final class Result {
    final List<String> command;
    final int exitCode; // -1: timed out
    final String stdout;
    final String stderr;

    Result(List<String> command, int exitCode, String stdout, String stderr) {
      this.command = command;
      this.exitCode = exitCode;
      this.stdout = stdout;
      this.stderr = stderr;
    }

    String orThrow() {
      if (exitCode != 0) {
        throw new IllegalStateException(describe());
      }
      return stdout;
    }

    String describe() {
      String what = exitCode == -1 ? "timed out" : "failed with exit code " + exitCode;
      return "`" + String.join(" ", command) + "` " + what + ", stderr: " + stderr.trim();
    }
  }

  /**
   * Runs a command with a bounded wait, stdin from {@code stdin} (or nothing), capturing stdout and
   * stderr. The Docker CLI gets a config directory of its own so ~/.docker (contexts, proxies
   * injected into containers) plays no part.
   */
  private static Result run(List<String> command, Path stdin, Duration timeout) {
    ProcessBuilder builder = new ProcessBuilder(command);
    Map<String, String> env = builder.environment();
    for (String variable :
        List.of("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
            "DOCKER_API_VERSION")) {
      env.remove(variable);
    }
    env.put("DOCKER_CONFIG", BASE.resolve("cli-config").toString());
    builder.redirectInput(
        stdin == null
            ? ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))
            : ProcessBuilder.Redirect.from(stdin.toFile()));
    Process process;
    try {
      Files.createDirectories(BASE.resolve("cli-config"));
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    }
    Drain out = new Drain(process.getInputStream(), "stdout");
    Drain err = new Drain(process.getErrorStream(), "stderr");
    boolean finished;
    try {
      finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
    if (!finished) {
      process.destroyForcibly();
      waitFor(process.toHandle(), Duration.ofSeconds(10));
    }
    return new Result(command, finished ? process.exitValue() : -1, out.text(), err.text());
  }
}
