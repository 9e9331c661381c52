package io.dockhealth.dist.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.dist.it.Commands.Output;
import io.dockhealth.testing.DockerEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The installed unit run by systemd, with every hardening setting it has: this machine has no
 * systemd running, so a container of a private Docker engine boots one. Its /usr is this machine's
 * /usr with the package's files on top (an overlay of a {@link ScratchRoot}'s /usr, where dpkg
 * installed the package), its /etc the scratch root's: the package's unit, settings, user and
 * enablement as postinst left them. The engine's own socket stands in for /var/run/docker.sock.
 */
class SystemdUnitIT {
  private static final Duration RUN = Duration.ofMinutes(2);
  /** The capabilities systemd needs to sandbox a service (--privileged asks for more than this machine allows). */
  private static final List<String> SYSTEMD_CAPS = List.of("SYS_ADMIN", "SETUID", "SETGID", "SETPCAP", "CHOWN",
      "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "KILL", "SYS_CHROOT", "MKNOD", "AUDIT_WRITE", "SETFCAP",
      "SYS_PTRACE");

  private static DockerEngine engine;
  private static ScratchRoot root;
  private static Path usr;
  private static String container;
  private static int grpcPort;

  @BeforeAll
  static void bootSystemd() throws IOException {
    engine = DockerEngine.start("systemd-unit");
    root = ScratchRoot.create(engine.dir().resolve("root"), Commands.deb());
    root.dpkg("--install", Commands.deb().toString());
    // As an operator would: ports of this test's own in /etc/default/dockhealth.
    grpcPort = Commands.freePort();
    Path settings = root.resolve("/etc/default/dockhealth");
    Files.writeString(settings, Files.readString(settings) + "DOCKHEALTH_GRPC_ADDRESS=127.0.0.1:" + grpcPort
        + "\nDOCKHEALTH_HTTP_ADDRESS=127.0.0.1:" + Commands.freePort() + "\n");
    // The machine's Docker units must not start inside: dockhealth.service Wants docker.service.
    for (String unit : List.of("docker.service", "docker.socket", "containerd.service")) {
      Files.createSymbolicLink(root.resolve("/etc/systemd/system/" + unit), Path.of("/dev/null"));
    }
    Files.writeString(root.resolve("/etc/machine-id"), "");

    usr = Files.createDirectories(engine.dir().resolve("usr"));
    Commands.run(RUN, "mount", "-t", "overlay", "overlay", "-o",
        "ro,lowerdir=" + root.resolve("/usr") + ":/usr", usr.toString()).ok();
    importSkeleton();
    List<String> run = new ArrayList<>(List.of("run", "-d", "--name", "systemd", "--network", "host", "--init=false",
        "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
        "-e", "container=docker", "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "-v", usr + ":/usr:ro", "-v", root.resolve("/etc") + ":/etc",
        "-v", engine.socketPath() + ":/run/docker.sock"));
    for (String cap : SYSTEMD_CAPS) {
      run.addAll(List.of("--cap-add", cap));
    }
    run.addAll(List.of("dockhealth-test/systemd:1", "/lib/systemd/systemd"));
    container = engine.docker(run.toArray(String[]::new));
    // Booted: every unit has started or failed (dockhealth's own fate is the tests' to check).
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() ->
        assertThat(systemctl("is-system-running").text().strip()).isIn("running", "degraded"));
  }

  /** An image of nothing but merged-/usr links and empty directories: /usr and /etc come as mounts. */
  private static void importSkeleton() throws IOException {
    Path skeleton = Files.createDirectories(engine.dir().resolve("skeleton"));
    for (String dir : List.of("usr", "etc", "run", "tmp", "proc", "sys", "dev", "root", "var/lib", "var/log")) {
      Files.createDirectories(skeleton.resolve(dir));
    }
    for (String merged : List.of("bin", "lib", "lib64", "sbin")) {
      Files.createSymbolicLink(skeleton.resolve(merged), Path.of("usr", merged));
    }
    Files.createSymbolicLink(skeleton.resolve("var/run"), Path.of("../run"));
    Commands.run(RUN, "sh", "-c", "tar --numeric-owner --owner=0 --group=0 -C \"$0\" -c . | "
        + DockerEngine.DOCKER_CLI + " -H \"$1\" import - dockhealth-test/systemd:1", skeleton.toString(), engine.host())
        .ok();
  }

  @AfterAll
  static void stopSystemd() {
    try {
      if (container != null) {
        // systemd takes its own cgroups down as it powers off; a SIGKILL would leave them behind.
        systemctl("poweroff");
        await().atMost(RUN).until(() -> engine.docker("inspect", "-f", "{{.State.Running}}", container).equals("false"));
      }
    } finally {
      if (usr != null) {
        Commands.run(RUN, "umount", usr.toString());
      }
      if (engine != null) {
        engine.close();
      }
    }
  }

  private static Output systemctl(String... args) {
    List<String> command = new ArrayList<>(List.of(DockerEngine.DOCKER_CLI, "-H", engine.host(), "exec", container,
        "systemctl"));
    command.addAll(List.of(args));
    return Commands.run(Map.of(), RUN, command);
  }

  private static String show(String property) {
    return systemctl("show", "--value", "-p", property, "dockhealth.service").ok().strip();
  }

  private static Output probe() {
    return Commands.run(RUN, root.resolve("/usr/bin/dockhealth-probe").toString(), "-addr=127.0.0.1:" + grpcPort);
  }

  @Test
  void theEnabledUnit_runsTheSidecarUnderItsSandbox_andStopsCleanly() throws IOException {
    // Enabled by postinst, so systemd started it at boot (started again if another test stopped
    // it); "" is SERVING once it is connected to Docker through the docker group the unit adds.
    assertThat(systemctl("is-enabled", "dockhealth.service").text().strip()).isEqualTo("enabled");
    systemctl("start", "dockhealth.service").ok();
    await().atMost(Duration.ofMinutes(3)).untilAsserted(() -> assertThat(probe().text()).contains("status: SERVING"));

    String status = Commands.run(RUN, DockerEngine.DOCKER_CLI, "-H", engine.host(), "exec", container, "cat",
        "/proc/" + show("MainPID") + "/status").ok();
    String dockerGid = Files.readAllLines(root.resolve("/etc/group")).stream()
        .filter(line -> line.startsWith("docker:")).findFirst().orElseThrow().split(":")[2];
    String dockhealthUid = root.account("passwd", "dockhealth").split(":")[2];
    assertThat(status)
        .containsPattern("(?m)^Uid:\\s+" + dockhealthUid + "\\s")
        .containsPattern("(?m)^Groups:.*\\b" + dockerGid + "\\b")
        .containsPattern("(?m)^NoNewPrivs:\\s+1$")
        .containsPattern("(?m)^CapBnd:\\s+0+$")
        .containsPattern("(?m)^Seccomp:\\s+2$");
    assertThat(show("LimitNOFILE")).isEqualTo("65536");

    long start = System.nanoTime();
    systemctl("stop", "dockhealth.service").ok();
    Duration took = Duration.ofNanos(System.nanoTime() - start);

    assertThat(show("Result")).isEqualTo("success");
    assertThat(show("ExecMainStatus")).as("the JVM's exit on SIGTERM, a success by SuccessExitStatus").isEqualTo("143");
    assertThat(took).as("stopped by SIGTERM, before TimeoutStopSec would SIGKILL").isLessThan(Duration.ofSeconds(30));
  }

  @Test
  void memoryDenyWriteExecute_wouldStopTheJvm_whichIsWhyTheUnitLeavesItOut() {
    // The control for the test above: systemd really applies the unit's settings here, and the one
    // setting the unit leaves out for the JIT's sake does stop the JVM.
    systemctl("stop", "dockhealth.service").ok();
    Commands.run(RUN, DockerEngine.DOCKER_CLI, "-H", engine.host(), "exec", container, "sh", "-c",
        "mkdir -p /run/systemd/system/dockhealth.service.d && printf '[Service]\\nMemoryDenyWriteExecute=yes\\n'"
            + " >/run/systemd/system/dockhealth.service.d/mdwe.conf").ok();
    try {
      systemctl("daemon-reload").ok();
      systemctl("start", "dockhealth.service");

      await().atMost(RUN).untilAsserted(() -> assertThat(show("ExecMainStatus")).isEqualTo("1"));
      String journal = Commands.run(RUN, DockerEngine.DOCKER_CLI, "-H", engine.host(), "exec", container,
          "journalctl", "-u", "dockhealth.service", "-o", "cat", "--no-pager").ok();
      assertThat(journal).contains("Failed to mark memory page as executable");
    } finally {
      systemctl("stop", "dockhealth.service");
      Commands.run(RUN, DockerEngine.DOCKER_CLI, "-H", engine.host(), "exec", container, "rm", "-rf",
          "/run/systemd/system/dockhealth.service.d");
      systemctl("daemon-reload");
    }
  }
}
