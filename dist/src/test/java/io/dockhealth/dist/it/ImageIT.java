package io.dockhealth.dist.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.dist.it.Commands.Output;
import io.dockhealth.testing.DockerEngine;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The container image of deploy/docker/Dockerfile, built in a private Docker engine on a base made
 * here (no registry is reachable): the dist module's jlink runtime, the C libraries it links and
 * busybox, with JAVA_HOME and PATH as eclipse-temurin sets them. The compose example then runs
 * against that engine with Debian's docker-compose: the sidecar's own HEALTHCHECK, the example app
 * reported through it, and a clean stop.
 */
class ImageIT {
  private static final Duration RUN = Duration.ofMinutes(5);
  private static final String BASE = "dockhealth-test/jre:17";
  private static final String PROJECT = "dhit";
  private static final String SIDECAR = PROJECT + "_dockhealth_1";
  private static final String WEB = PROJECT + "_web_1";

  private static DockerEngine engine;
  private static String image;
  private static int grpcPort;
  private static int httpPort;
  private static int webPort;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void buildImageAndStartTheComposeExample() throws IOException {
    engine = DockerEngine.start("image");
    importBase();
    image = "dockhealth:" + Commands.version();
    docker(RUN, "build", "-q", "--build-arg", "BASE=" + BASE, "-t", image, Commands.distFile("docker").toString()).ok();
    System.out.printf("ImageIT: %s on %s is %.1f MB, the base %.1f MB%n", image, BASE,
        Long.parseLong(engine.docker("image", "inspect", "-f", "{{.Size}}", image)) / 1e6,
        Long.parseLong(engine.docker("image", "inspect", "-f", "{{.Size}}", BASE)) / 1e6);

    grpcPort = Commands.freePort();
    httpPort = Commands.freePort();
    webPort = Commands.freePort();
    compose("config", "-q").ok();
    compose("up", "-d", "--build").ok();
  }

  @AfterAll
  static void stopEngine() {
    if (engine != null) {
      engine.close();
    }
  }

  /**
   * A JRE image as a base: the runtime at /opt/java/openjdk (where eclipse-temurin has it), the
   * shared libraries it links at their paths, busybox for /bin/sh, and /tmp.
   */
  private static void importBase() throws IOException {
    Path rootfs = Files.createDirectories(engine.dir().resolve("jre-rootfs"));
    Path runtime = Commands.distFile("runtime");
    Commands.run(RUN, "cp", "-a", runtime.toString(), Files.createDirectories(rootfs.resolve("opt/java"))
        .resolve("openjdk").toString()).ok();
    Path bin = Files.createDirectories(rootfs.resolve("bin"));
    Files.copy(Path.of("/bin/busybox"), bin.resolve("busybox"), StandardCopyOption.COPY_ATTRIBUTES);
    for (String applet : Commands.run(RUN, "/bin/busybox", "--list").ok().split("\n")) {
      if (!applet.isBlank() && !applet.equals("busybox")) {
        Files.createSymbolicLink(bin.resolve(applet.strip()), Path.of("busybox"));
      }
    }
    Files.createDirectories(rootfs.resolve("tmp"));
    Commands.run(RUN, "chmod", "1777", rootfs.resolve("tmp").toString()).ok();
    Set<String> libraries = new LinkedHashSet<>();
    try (Stream<Path> files = Files.walk(runtime)) {
      for (Path file : files.filter(Files::isRegularFile)
          .filter(file -> file.toString().endsWith(".so") || Files.isExecutable(file)).collect(Collectors.toList())) {
        Output ldd = Commands.run(RUN, "ldd", file.toString());
        for (String line : ldd.text().split("\n")) {
          for (String word : line.trim().split("\\s+")) {
            if (word.startsWith("/") && !Path.of(word).normalize().startsWith(runtime.toAbsolutePath().normalize())) {
              libraries.add(word); // a library of the system's, not one of the runtime's own
            }
          }
        }
      }
    }
    for (String library : libraries) {
      Path target = rootfs.resolve(library.substring(1));
      Files.createDirectories(target.getParent());
      Files.copy(Path.of(library), target, StandardCopyOption.REPLACE_EXISTING); // follows the library's link
    }
    Commands.run(RUN, "sh", "-c", "tar --numeric-owner --owner=0 --group=0 -C \"$0\" -c . | " + DockerEngine.DOCKER_CLI
        + " -H \"$1\" import --change 'ENV JAVA_HOME=/opt/java/openjdk'"
        + " --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'"
        + " - " + BASE, rootfs.toString(), engine.host()).ok();
  }

  private static Output docker(Duration timeout, String... args) {
    List<String> command = new ArrayList<>(List.of(DockerEngine.DOCKER_CLI, "-H", engine.host()));
    command.addAll(List.of(args));
    return Commands.run(Map.of(), timeout, command);
  }

  /** docker-compose on the example file, against the private engine, with this test's settings. */
  private static Output compose(String... args) {
    Map<String, String> env = new HashMap<>();
    env.put("DOCKER_HOST", engine.host());
    env.put("DOCKER_SOCKET", engine.socketPath().toString());
    env.put("DOCKER_GID", Commands.run(RUN, "stat", "-c", "%g", engine.socketPath().toString()).ok().strip());
    env.put("DOCKHEALTH_IMAGE", image);
    env.put("DOCKHEALTH_GRPC_ADDRESS", "127.0.0.1:" + grpcPort);
    env.put("DOCKHEALTH_HTTP_ADDRESS", "127.0.0.1:" + httpPort);
    env.put("WEB_BASE", DockerEngine.IMAGE);
    env.put("WEB_PORT", String.valueOf(webPort));
    List<String> command = new ArrayList<>(List.of("docker-compose", "--no-ansi", "-f",
        Commands.deployDir().resolve("compose/compose.yaml").toString(), "-p", PROJECT));
    command.addAll(List.of(args));
    return Commands.run(env, RUN, command);
  }

  private static String inspect(String format, String object) {
    return engine.docker("inspect", "-f", format, object);
  }

  private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString(UTF_8));
  }

  @Test
  void image_runsAsNonRoot_withItsHealthcheckLabelsAndStopSignal() {
    assertThat(inspect("{{.Config.User}}", image)).isEqualTo("10001:10001");
    assertThat(inspect("{{json .Config.Healthcheck.Test}}", image)).contains("dockhealth-probe",
        "DOCKHEALTH_GRPC_ADDRESS");
    assertThat(inspect("{{.Config.StopSignal}}", image)).isEqualTo("SIGTERM");
    assertThat(inspect("{{index .Config.Labels \"org.opencontainers.image.version\"}}", image))
        .isEqualTo(Commands.version());
    assertThat(inspect("{{index .Config.Labels \"org.opencontainers.image.base.name\"}}", image)).isEqualTo(BASE);
    // The probe's class-data archive was made at build time, for the image's own JVM and path.
    assertThat(docker(RUN, "run", "--rm", "--network", "none", "-e", "DOCKHEALTH_PROBE_JAVA_OPTS=-Xshare:on",
        "--entrypoint", "dockhealth-probe", image, "-version").ok().strip())
        .isEqualTo("dockhealth-probe " + Commands.version());
    // And the sidecar's.
    assertThat(docker(RUN, "run", "--rm", "--network", "none", "-e", "DOCKHEALTH_JAVA_OPTS=-Xshare:on",
        image, "--version").ok().strip())
        .isEqualTo("dockhealth " + Commands.version());
  }

  @Test
  void composeExample_sidecarTurnsHealthy_reportsTheApp_andStopsCleanly() throws Exception {
    // The sidecar's own HEALTHCHECK (the probe against "") turns healthy once it has read Docker
    // through the socket it may read as a non-root user with the socket's group.
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() ->
        assertThat(inspect("{{.State.Health.Status}}", SIDECAR)).as(docker(RUN, "logs", SIDECAR).text()).isEqualTo("healthy"));
    await().atMost(Duration.ofMinutes(2)).untilAsserted(() ->
        assertThat(inspect("{{.State.Health.Status}}", WEB)).isEqualTo("healthy"));

    // The app, by its compose service name, over gRPC (the image's own probe) and HTTP.
    await().atMost(Duration.ofMinutes(1)).untilAsserted(() ->
        assertThat(docker(RUN, "exec", SIDECAR, "dockhealth-probe", "-addr=127.0.0.1:" + grpcPort, "-service=web").text())
            .contains("status: SERVING"));
    HttpResponse<String> group = get("/v1/health/" + PROJECT + "/web");
    assertThat(group.statusCode()).as(group.body()).isEqualTo(200);
    assertThat(group.body()).contains("\"status\": \"SERVING\"", WEB);

    engine.docker("stop", WEB);
    await().atMost(Duration.ofMinutes(1)).untilAsserted(() -> assertThat(get("/v1/health/web").statusCode()).isEqualTo(503));

    // docker stop: SIGTERM, the drain, then the JVM's own exit, well within the stop timeout.
    engine.docker("stop", SIDECAR);
    assertThat(inspect("{{.State.ExitCode}}", SIDECAR)).as("143 is SIGTERM handled; 137 would be a SIGKILL")
        .isEqualTo("143");
    assertThat(docker(RUN, "logs", SIDECAR).ok()).contains("stopped"); // the JVM logs to stderr
  }

  @Test
  void probeInAnAppImage_isADropInForGrpcHealthProbe() throws IOException {
    // deploy/compose/grpc-app: an app image that takes the probe from the dockhealth image. The app
    // here is any gRPC server with the health service at hand: the sidecar's jar, in a network
    // namespace of its own (the HEALTHCHECK's -addr=:50051 is the container's loopback).
    Path context = Files.createDirectories(engine.dir().resolve("grpc-app"));
    Files.copy(Commands.deployDir().resolve("compose/grpc-app/Dockerfile"), context.resolve("Dockerfile"));
    Files.copy(Commands.distFile("docker/opt/dockhealth/lib/dockhealth.jar"), context.resolve("app.jar"));
    docker(RUN, "build", "-q", "--build-arg", "DOCKHEALTH_IMAGE=" + image, "--build-arg", "BASE=" + BASE,
        "-t", "dockhealth-test/grpc-app", context.toString()).ok();
    engine.docker("run", "-d", "--name", "grpc-app", "--network", "none",
        "-v", engine.socketPath() + ":/var/run/docker.sock:ro",
        "-e", "DOCKHEALTH_GRPC_ADDRESS=127.0.0.1:50051", "-e", "DOCKHEALTH_HTTP_ADDRESS=127.0.0.1:50052",
        "dockhealth-test/grpc-app");

    assertThat(inspect("{{json .Config.Healthcheck.Test}}", "dockhealth-test/grpc-app"))
        .isEqualTo("[\"CMD\",\"/opt/dockhealth/bin/dockhealth-probe\",\"-addr=:50051\"]");
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() ->
        assertThat(inspect("{{.State.Health.Status}}", "grpc-app")).as(inspect("{{json .State.Health}}", "grpc-app"))
            .isEqualTo("healthy"));
  }
}
