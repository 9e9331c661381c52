package io.dockhealth.client.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.client.DockhealthClient;
import io.dockhealth.proto.health.v1.HealthCheckResponse.ServingStatus;
import io.dockhealth.proto.v1.HealthStatus;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.FakeHealthServer;
import io.dockhealth.testing.SidecarProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * dockhealth-probe, started by its launcher as a HEALTHCHECK starts it, against the packaged
 * sidecar over real TCP and a real Docker engine: every exit code produced for real, and watch and
 * list on real containers.
 */
class ProbeIT {
  private static DockerEngine engine;
  private static SidecarProcess sidecar;
  private static DockhealthClient client;
  private static String addr;

  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws Exception {
    engine = DockerEngine.start("probe-it");
    engine.docker("run", "-d", "--name", "web", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    // Healthy never: the probe fails at once, and one failure is enough.
    engine.docker("run", "-d", "--name", "sick", "--network", "host", "--health-cmd", "false",
        "--health-interval", "1s", "--health-retries", "1", DockerEngine.IMAGE, "sleep", "600");
    sidecar = SidecarProcess.builder(engine.host()).start();
    addr = sidecar.grpcAddress();
    client = DockhealthClient.newBuilder(addr).build();
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> client.check("") == ServingStatus.SERVING && client.check("web") == ServingStatus.SERVING);
  }

  @AfterAll
  static void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (sidecar != null) {
      sidecar.close();
    }
    if (engine != null) {
      engine.close();
    }
  }

  @Test
  void runningContainer_exits0_inEveryFlagSpelling() {
    for (List<String> args : List.of(
        List.of("-addr=" + addr, "-service=web"),
        List.of("-addr", addr, "-service", "web"),
        List.of("--addr=" + addr, "--service=web"),
        List.of("-addr=:" + sidecar.grpcPort(), "-service=web"))) {
      Probe.Result result = Probe.run(args.toArray(String[]::new));
      assertThat(result.exitCode()).as("%s: %s", args, result.err()).isZero();
      assertThat(result.errLines()).as("%s", args).containsExactly("status: SERVING");
    }
  }

  @Test
  void sidecarItself_exits0() {
    assertThat(Probe.run("-addr=" + addr).exitCode()).isZero();
  }

  @Test
  void unknownName_exits3_notFound() {
    Probe.Result result = Probe.run("-addr=" + addr, "-service=nope");
    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.errLines())
        .containsExactly("error: health rpc failed: rpc error: code = NotFound desc = unknown service \"nope\"");
  }

  @Test
  void unhealthyContainer_exits4() {
    await().atMost(Duration.ofSeconds(20))
        .until(() -> client.getContainer("sick").getHealth() == HealthStatus.HEALTH_UNHEALTHY);
    Probe.Result result = Probe.run("-addr=" + addr, "-service=sick");
    assertThat(result.exitCode()).isEqualTo(4);
    assertThat(result.errLines()).containsExactly("service unhealthy (responded with \"NOT_SERVING\")");
  }

  @Test
  void stoppedServer_exits2_afterTheConnectTimeout() throws Exception {
    String otherAddr;
    try (SidecarProcess other = SidecarProcess.builder(engine.host()).start()) {
      otherAddr = other.grpcAddress();
      // Exit 4 until the new sidecar has read Docker ("" is NOT_SERVING until then), then 0.
      await().atMost(Duration.ofSeconds(30)).until(() -> Probe.run("-addr=" + otherAddr).exitCode() == 0);
      other.stop();
    }

    Probe.Result result = Probe.run("-addr=" + otherAddr, "-connect-timeout=300ms");
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines()).containsExactly("timeout: failed to connect service \"" + otherAddr + "\" within 300ms");
  }

  @Test
  void rpcTimeoutTooShort_exits3_deadlineExceeded() {
    Probe.Result result = Probe.run("-addr=" + addr, "-service=web", "-rpc-timeout=1ns");
    assertThat(result.exitCode()).isEqualTo(3);
    assertThat(result.errLines()).containsExactly("timeout: health rpc did not complete within 1ns");
  }

  @Test
  void tlsFilesThatFailToLoad_exit1() throws Exception {
    Path missing = tmp.resolve("missing-ca.pem");
    Probe.Result noFile = Probe.run("-addr=" + addr, "-tls", "-tls-ca-cert=" + missing);
    assertThat(noFile.exitCode()).isEqualTo(1);
    assertThat(noFile.errLines()).containsExactly("failed to initialize tls credentials. error=failed to load root CA"
        + " certificates from file (" + missing + ") error=open " + missing + ": no such file or directory");

    Path garbage = Files.writeString(tmp.resolve("garbage-ca.pem"), "not PEM\n");
    Probe.Result notPem = Probe.run("-addr=" + addr, "-tls", "-tls-ca-cert", garbage.toString());
    assertThat(notPem.exitCode()).isEqualTo(1);
    assertThat(notPem.errLines())
        .containsExactly("failed to initialize tls credentials. error=no root CA certs parsed from file " + garbage);

    Probe.Result noKey = Probe.run("-addr=" + addr, "-tls", "-tls-client-cert=" + garbage);
    assertThat(noKey.exitCode()).isEqualTo(1);
    assertThat(noKey.errLines()).containsExactly("error: specified -tls-client-cert without specifying -tls-client-key");
  }

  @Test
  void tlsAgainstThePlaintextSidecar_exits2_asAConnectionTimeout() {
    Probe.Result result = Probe.run("-addr=" + addr, "-tls", "-tls-no-verify", "-connect-timeout=500ms");
    assertThat(result.exitCode()).isEqualTo(2);
    assertThat(result.errLines()).containsExactly("timeout: failed to connect service \"" + addr + "\" within 500ms");
  }

  @Test
  void invalidArguments_exit1() {
    Probe.Result noAddr = Probe.run("-service=web");
    assertThat(noAddr.exitCode()).isEqualTo(1);
    assertThat(noAddr.errLines()).containsExactly("error: -addr not specified");
    assertThat(Probe.run("-addr=" + addr, "-connect-timeout=soon").exitCode()).isEqualTo(1);
  }

  @Test
  void serverWithoutTheHealthService_exits3_unimplemented() throws Exception {
    try (FakeHealthServer bare = FakeHealthServer.onLoopback().withoutHealthService().start()) {
      Probe.Result result = Probe.run("-addr=" + bare.address());
      assertThat(result.exitCode()).isEqualTo(3);
      assertThat(result.errLines()).containsExactly("error: this server does not implement the grpc health protocol"
          + " (grpc.health.v1.Health): Method not found: grpc.health.v1.Health/Check");
    }
  }

  @Test
  void unixSocket_inAddr() throws Exception {
    Path socket = tmp.resolve("health.sock");
    try (FakeHealthServer server = FakeHealthServer.onUnixSocket(socket).start()) {
      server.set("", ServingStatus.SERVING);
      Probe.Result serving = Probe.run("-addr=unix://" + socket);
      assertThat(serving.exitCode()).as(serving.err()).isZero();
      assertThat(serving.errLines()).containsExactly("status: SERVING");
      assertThat(Probe.run("-addr=unix:" + socket, "-service=other").exitCode()).isEqualTo(3);
    }
    Probe.Result gone = Probe.run("-addr=unix://" + socket, "-connect-timeout=300ms");
    assertThat(gone.exitCode()).isEqualTo(2);
    assertThat(gone.errLines()).containsExactly("timeout: failed to connect service \"unix://" + socket + "\" within 300ms");
  }

  @Test
  void watch_printsTheTransitionsOfARealContainer() throws Exception {
    Probe.Running watch = Probe.start(Map.of(), "watch", "-addr=" + addr, "-service=flip", "-count=3");
    // The name is unknown until the container exists: the watch says so, then follows it.
    await().atMost(Duration.ofSeconds(10)).until(() -> !watch.outLines().isEmpty());
    engine.docker("run", "-d", "--name", "flip", "--network", "host", "--health-cmd", "test -f /tmp/ok",
        "--health-interval", "1s", "--health-retries", "1", DockerEngine.IMAGE, "sleep", "600");
    await().atMost(Duration.ofSeconds(10)).until(() -> watch.outLines().size() >= 2);
    engine.docker("exec", "flip", "touch", "/tmp/ok");

    Probe.Result result = watch.finish(30);
    assertThat(result.exitCode()).as(result.err()).isZero();
    List<String> lines = result.outLines();
    assertThat(lines).allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z flip [A-Z_]+"), "timestamped");
    assertThat(lines.stream().map(l -> l.substring(l.lastIndexOf(' ') + 1)))
        .containsExactly("SERVICE_UNKNOWN", "NOT_SERVING", "SERVING");
  }

  @Test
  void watch_json_oneObjectPerChange() {
    Probe.Result result = Probe.run("watch", "-addr=" + addr, "-service=web", "-count=1", "-o=json");
    assertThat(result.exitCode()).isZero();
    assertThat(result.outLines()).singleElement().asString()
        .matches("\\{\"time\":\"[0-9T:.-]+Z\",\"service\":\"web\",\"status\":\"SERVING\"\\}");
  }

  @Test
  void list_showsNamesMembersAndTheirContainersHealth() {
    await().atMost(Duration.ofSeconds(20))
        .until(() -> client.getContainer("sick").getHealth() == HealthStatus.HEALTH_UNHEALTHY);
    Probe.Result result = Probe.run("list", "-addr=" + addr);
    assertThat(result.exitCode()).as(result.err()).isZero();
    List<String> lines = result.outLines();
    assertThat(lines.get(0)).matches("NAME +STATUS +MEMBER +STATE +HEALTH +STREAK +LAST PROBE");
    assertThat(lines).anyMatch(l -> l.matches("\"\" +SERVING"))
        .anyMatch(l -> l.matches("web +SERVING +web +running +none +0"))
        .anyMatch(l -> l.matches("sick +NOT_SERVING +sick +running +unhealthy +[1-9][0-9]*"))
        .noneMatch(l -> l.matches("[0-9a-f]{12} .*"));

    Probe.Result json = Probe.run("list", "-addr=" + addr, "-o", "json");
    assertThat(json.exitCode()).isZero();
    assertThat(json.out()).contains("\"inSync\": true", "\"name\": \"web\"", "\"containerName\": \"sick\"",
        "\"health\": \"HEALTH_UNHEALTHY\"");
  }

  @Test
  void launcher_mapsTheClassDataSharingArchive() {
    Path archive = Path.of(System.getProperty("dockhealth.probe.cds", "target/dockhealth-probe.jsa"));
    assertThat(archive).as("made at package time").exists();
    // -Xshare:on makes the JVM refuse to start rather than run without the archive.
    Probe.Result result = Probe.run(Map.of("DOCKHEALTH_PROBE_JAVA_OPTS", "-Xshare:on"), "-addr=" + addr, "-service=web");
    assertThat(result.exitCode()).as(result.err()).isZero();
    assertThat(result.errLines()).containsExactly("status: SERVING");
  }

  @Test
  void launcher_makesTheArchiveAnew_forAJarCopiedElsewhere() throws Exception {
    // The package's layout, as a package or an image installs it: the build tree's archive does
    // not fit a jar at another path, so the first run makes one for this one.
    Path home = tmp.resolve("installed/usr/lib/dockhealth");
    Files.createDirectories(home.resolve("bin"));
    Files.createDirectories(home.resolve("lib"));
    Path launcher = Files.copy(Probe.launcher(), home.resolve("bin/dockhealth-probe"), StandardCopyOption.COPY_ATTRIBUTES);
    Path jar = Files.copy(Path.of(System.getProperty("dockhealth.probe.jar", "target/dockhealth-probe.jar")),
        home.resolve("lib/dockhealth-probe.jar"));

    Probe.Result first = Probe.runAt(launcher, Map.of(), "-version");

    assertThat(first.exitCode()).as(first.err()).isZero();
    Path archive = home.resolve("lib/dockhealth-probe.jsa");
    assertThat(archive).isRegularFile();
    assertThat(Files.readString(home.resolve("lib/dockhealth-probe.jsa.for")).strip())
        .isEqualTo(jar.toRealPath() + " " + Path.of(System.getProperty("java.home"), "bin/java"));
    // -Xshare:on makes the JVM refuse to start rather than run without the archive.
    Probe.Result check = Probe.runAt(launcher, Map.of("DOCKHEALTH_PROBE_JAVA_OPTS", "-Xshare:on"),
        "-addr=" + addr, "-service=web");
    assertThat(check.exitCode()).as(check.err()).isZero();
    assertThat(check.errLines()).containsExactly("status: SERVING");
  }

  @Test
  void versionAndHelp_viaTheLauncher() {
    Probe.Result version = Probe.run("-version");
    assertThat(version.exitCode()).isZero();
    assertThat(version.out()).startsWith("dockhealth-probe ");
    Probe.Result help = Probe.run("--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out()).contains("Exit codes:", "watch", "list");
  }
}
