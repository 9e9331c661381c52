package io.dockhealth.dist.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.common.collect.MapDifference;
import com.google.common.collect.Maps;
import io.dockhealth.dist.it.Commands.Output;
import io.dockhealth.testing.DockerEngine;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Debian package, installed with dpkg into a {@link ScratchRoot} (never into this machine's own
 * root): what dpkg -i, -r and --purge leave, the installed binaries run against a private Docker
 * engine, and the installed unit checked by systemd-analyze.
 */
class PackageIT {
  private static final Duration RUN = Duration.ofMinutes(2);
  private static final Pattern GRPC_PORT = Pattern.compile("gRPC listening on \\S*:(\\d+) ");

  private static DockerEngine engine;
  private static ScratchRoot installed;

  @BeforeAll
  static void installIntoAScratchRoot() throws IOException {
    engine = DockerEngine.start("package");
    installed = ScratchRoot.create(engine.dir().resolve("installed"), Commands.deb());
    installed.dpkg("--install", Commands.deb().toString());
  }

  @AfterAll
  static void stopEngine() {
    if (engine != null) {
      engine.close(); // and its directory, the scratch roots with it
    }
  }

  @Test
  void installRemovePurge_keepsTheSettingsUntilPurge_thenLeavesNothing() throws IOException {
    Path deb = Commands.deb();
    ScratchRoot root = ScratchRoot.create(engine.dir().resolve("lifecycle"), deb);
    Map<String, String> before = root.snapshot();

    root.dpkg("--install", deb.toString());
    for (String file : List.of("/usr/lib/dockhealth/runtime/bin/java", "/usr/lib/dockhealth/lib/dockhealth.jar",
        "/lib/systemd/system/dockhealth.service", "/etc/default/dockhealth", "/usr/share/man/man8/dockhealth.8.gz",
        "/usr/share/doc/dockhealth/copyright")) {
      assertThat(root.resolve(file)).as(file).isRegularFile();
    }
    assertThat(root.resolve("/usr/bin/dockhealth")).isExecutable();
    assertThat(root.resolve("/usr/bin/dockhealth-probe")).isExecutable();
    assertThat(root.resolve("/usr/lib/dockhealth/lib/dockhealth-probe.jsa")).as("made by postinst").isRegularFile();
    assertThat(root.resolve("/usr/lib/dockhealth/lib/dockhealth.jsa")).as("made by postinst").isRegularFile();
    assertThat(root.account("passwd", "dockhealth")).matches("dockhealth:x:\\d{3}:\\d+:.*:/nonexistent:/usr/sbin/nologin");
    assertThat(root.account("group", "dockhealth")).isNotEmpty();
    assertThat(Files.readSymbolicLink(root.resolve("/etc/systemd/system/multi-user.target.wants/dockhealth.service")))
        .as("enabled").isEqualTo(Path.of("/lib/systemd/system/dockhealth.service"));
    assertThat(root.dpkg("--status", "dockhealth")).contains("Status: install ok installed",
        "Conffiles:\n /etc/default/dockhealth ");
    assertThat(root.dpkg("--verify", "dockhealth")).as("every file as md5sums has it").isEmpty();

    // An operator's setting survives a reinstall (prerm upgrade, then postinst configure with the
    // old version: the upgrade path), which also remakes the class-data archives.
    Path settings = root.resolve("/etc/default/dockhealth");
    Files.writeString(settings, Files.readString(settings) + "DOCKHEALTH_LOG_LEVEL=debug\n");
    root.dpkg("--install", deb.toString());
    assertThat(Files.readString(settings)).endsWith("\nDOCKHEALTH_LOG_LEVEL=debug\n");
    assertThat(root.resolve("/usr/lib/dockhealth/lib/dockhealth-probe.jsa")).isRegularFile();
    assertThat(root.resolve("/usr/lib/dockhealth/lib/dockhealth.jsa")).isRegularFile();

    // Remove: the program goes; the settings and the user stay for a reinstall.
    root.dpkg("--remove", "dockhealth");
    assertThat(root.resolve("/usr/lib/dockhealth")).doesNotExist();
    assertThat(root.resolve("/usr/bin/dockhealth")).doesNotExist();
    assertThat(root.resolve("/lib/systemd/system/dockhealth.service")).doesNotExist();
    assertThat(Files.readString(settings)).endsWith("\nDOCKHEALTH_LOG_LEVEL=debug\n");
    assertThat(root.account("passwd", "dockhealth")).isNotEmpty();
    assertThat(root.dpkg("--status", "dockhealth")).contains("Status: deinstall ok config-files");

    // Purge: the root is as it was, down to the account files' bytes.
    root.dpkg("--purge", "dockhealth");
    MapDifference<String, String> difference = Maps.difference(before, root.snapshot());
    assertThat(difference.areEqual())
        .as("left behind: %s; gone: %s; changed: %s", difference.entriesOnlyOnRight().keySet(),
            difference.entriesOnlyOnLeft().keySet(), difference.entriesDiffering().keySet())
        .isTrue();
    assertThat(Commands.run(Duration.ofSeconds(30), "dpkg", "--root=" + root.path(), "--status", "dockhealth").text())
        .contains("not installed");
  }

  @Test
  void installedUnit_passesSystemdAnalyzeVerify() {
    // --root: the unit as installed, checked against the systemd units of this machine (ScratchRoot
    // copies them), its ExecStart and man page looked up in the root.
    Output verify = Commands.run(Map.of("MANPATH", installed.resolve("/usr/share/man").toString()), RUN,
        List.of("systemd-analyze", "verify", "--root=" + installed.path(), "dockhealth.service"));

    assertThat(verify.exitCode()).as(verify.toString()).isZero();
    assertThat(verify.text()).as("warnings").isEmpty();
  }

  @Test
  void installedBinaries_runOnTheirOwnRuntime() {
    String version = Commands.run(RUN, installed.resolve("/usr/bin/dockhealth").toString(), "--version").ok();
    String help = Commands.run(RUN, installed.resolve("/usr/bin/dockhealth").toString(), "--help").ok();
    String probeVersion = Commands.run(RUN, installed.resolve("/usr/bin/dockhealth-probe").toString(), "-version").ok();

    assertThat(version.strip()).isEqualTo("dockhealth " + Commands.version());
    assertThat(help).contains("--grpc-address", "DOCKHEALTH_GRPC_ADDRESS");
    assertThat(probeVersion.strip()).isEqualTo("dockhealth-probe " + Commands.version());
    Output properties = Commands.run(Map.of("DOCKHEALTH_JAVA_OPTS", "-XshowSettings:properties"), RUN,
        List.of(installed.resolve("/usr/bin/dockhealth").toString(), "--version"));
    assertThat(properties.text()).as("the bundled runtime, whatever JAVA_HOME says")
        .contains("java.home = " + installed.resolve("/usr/lib/dockhealth/runtime"));
    // -Xshare:on: the JVM refuses to start unless it can map the class-data archive that postinst
    // made, so the sidecar starts the fast way where it is installed.
    Output sharing = Commands.run(Map.of("DOCKHEALTH_JAVA_OPTS", "-Xshare:on"), RUN,
        List.of(installed.resolve("/usr/bin/dockhealth").toString(), "--version"));
    assertThat(sharing.exitCode()).as(sharing.toString()).isZero();
  }

  @Test
  void installedSidecar_withEverySettingUncommented_servesAContainer_toTheInstalledProbe() throws Exception {
    // Every line of /etc/default/dockhealth uncommented gives the defaults: the file parses, and
    // each value is one the sidecar takes. Flags then move it to this test's engine and free ports.
    Path settings = engine.dir().resolve("every-setting");
    Files.writeString(settings, Files.readString(installed.resolve("/etc/default/dockhealth"))
        .replaceAll("(?m)^#([A-Z_]+=)", "$1"), UTF_8);
    engine.docker("run", "-d", "--name", "web-1", "--network", "host", DockerEngine.IMAGE, "sleep", "600");
    Path log = engine.dir().resolve("installed-sidecar.log");
    Process sidecar = new ProcessBuilder("sh", "-c", "set -a; . \"$0\"; exec \"$@\"", settings.toString(),
        installed.resolve("/usr/bin/dockhealth").toString(), "--docker-host", engine.host(),
        "--grpc-address", "127.0.0.1:0", "--http-address", "127.0.0.1:0", "--drain-period", "0s")
        .redirectErrorStream(true).redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    try {
      int port = await().atMost(Duration.ofSeconds(90)).until(() -> grpcPort(log, sidecar), p -> p > 0);
      String probe = installed.resolve("/usr/bin/dockhealth-probe").toString();
      // -Xshare:on: the JVM refuses to start unless it can map the class-data archive that postinst
      // made, so this also proves the probe starts the fast way where it is installed.
      Map<String, String> sharing = Map.of("DOCKHEALTH_PROBE_JAVA_OPTS", "-Xshare:on");

      await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
          assertThat(Commands.run(sharing, RUN, List.of(probe, "-addr=127.0.0.1:" + port, "-service=web-1")))
              .satisfies(out -> assertThat(out.exitCode()).as(out.toString()).isZero())
              .satisfies(out -> assertThat(out.text()).contains("status: SERVING")));
      Output unknown = Commands.run(sharing, RUN, List.of(probe, "-addr=127.0.0.1:" + port, "-service=nope"));
      assertThat(unknown.exitCode()).as(unknown.toString()).isEqualTo(3);

      sidecar.destroy(); // SIGTERM, as systemd stops it
      assertThat(sidecar.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(sidecar.exitValue()).as("SuccessExitStatus=143 in the unit").isEqualTo(143);
    } finally {
      sidecar.destroyForcibly();
    }
  }

  private static int grpcPort(Path log, Process sidecar) throws IOException {
    String text = Files.readString(log, UTF_8);
    Matcher matcher = GRPC_PORT.matcher(text);
    if (matcher.find()) {
      return Integer.parseInt(matcher.group(1));
    }
    assertThat(sidecar.isAlive()).as("the installed sidecar exited early:\n%s", text).isTrue();
    return 0;
  }
}
