package io.dockhealth.lua;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.lua.testing.Http;
import io.dockhealth.lua.testing.Nginx;
import io.dockhealth.testing.Command;
import io.dockhealth.testing.Ports;
import io.dockhealth.testing.TestCertificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The example confs in deploy/nginx, on Debian's nginx with ngx_lua: {@code nginx -t} accepts them,
 * and they start. {@code nginx -t} does not run init_by_lua, so only a real start shows that the
 * module's configure() takes their options; for that start they listen on a free loopback port and
 * their sidecar addresses move to loopback ones where nothing answers (nothing else may be dialled
 * here). The Lua path always points at this checkout's lua/lib.
 */
class DeployConfsTest {
  private static final Path CONFS = Path.of("../deploy/nginx").toAbsolutePath().normalize();
  private static final String INSTALLED_LUA_PATH = "/usr/local/share/lua/5.1/?.lua";

  private static List<Path> confs() {
    try (Stream<Path> files = Files.list(CONFS)) {
      return files.filter(f -> f.toString().endsWith(".conf")).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String read(Path conf) {
    try {
      return Files.readString(conf, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The conf in a new prefix, with this checkout's Lua path. */
  private static Path install(String name, String conf) {
    Path prefix = Nginx.newPrefix("conf-" + name);
    Path file = prefix.resolve(name);
    try {
      Files.writeString(file, conf.replace(INSTALLED_LUA_PATH, Nginx.LUA_LIB + "/?.lua"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** What a start would dial, moved to loopback; {@code listen 80} moved to {@code port}. */
  private static String onLoopback(String conf, int port) {
    return conf.replace("listen 80;", "listen 127.0.0.1:" + port + ";")
        .replace("\"10.0.0.", "\"127.0.0.")
        .replace("\"127.0.0.1:4246\"", "\"127.0.0.1:" + Ports.free() + "\"");
  }

  @Test
  void examplesExist_forEveryTopology() {
    assertThat(confs()).extracting(p -> p.getFileName().toString())
        .contains("front-hosts.conf", "host-local.conf", "front-cluster.conf");
    String all = String.join("\n", confs().stream().map(DeployConfsTest::read).toList());
    assertThat(all).contains("topology = \"hosts\"", "topology = \"local\"", "topology = \"cluster\"",
        "balancer_by_lua_block", "log_by_lua_block",
        "access_by_lua_block", "init_worker_by_lua_block", "require(\"resty.dockhealth\").status()");
  }

  @Test
  void everyExample_passesNginxTest() {
    for (Path conf : confs()) {
      String text = read(conf);
      assertThat(text).as("%s loads the module from the installed path", conf).contains(INSTALLED_LUA_PATH);
      Path file = install(conf.getFileName().toString(), text);
      try {
        Command test = Command.run(file.getParent(), Duration.ofSeconds(30), Nginx.BINARY.toString(), "-t", "-p",
            file.getParent() + "/", "-c", file.toString());
        assertThat(test.exitCode()).as(test.describe()).isZero();
        assertThat(test.output()).as(test.describe()).contains("test is successful");
      } finally {
        Nginx.delete(file.getParent());
      }
    }
  }

  @Test
  void everyExample_startsAndShowsItsInstanceInTheStatus() {
    for (Path conf : confs()) {
      int port = Ports.free();
      Path file = install(conf.getFileName().toString(), onLoopback(read(conf), port));
      try (Nginx nginx = Nginx.run(file.getParent(), file, port, 0)) {
        Http.Answer status = Http.get(port, "/dockhealth/status");
        assertThat(status.status()).as("%s: %s", conf, status.body()).isEqualTo(200);
        assertThat(status.body()).as(conf.toString()).containsPattern("\"instances\":\\{\"(apps|local|cluster)\":\\{");
        assertThat(nginx.errorLog()).as(conf.toString()).doesNotContain("init_by_lua error", "[crit]", "[alert]");
      }
    }
  }

  /**
   * The commented variants, uncommented: TLS (the lua_ssl_* directives, and tls in configure) or a
   * unix socket in place of the local topology's TCP sidecar.
   */
  private static String uncommented(String conf) {
    String variant = conf.replaceAll("(?m)^(\\s*)# (lua_ssl_\\w+ [^;]*;)$", "$1$2")
        .replaceAll("(?m)^(\\s*)-- (tls = \\{|    (server_name|client_cert|client_key) = .*|\\},)$", "$1$2")
        .replaceAll("(?m)^(\\s*)-- (sidecar = \"unix:[^\"]+\",)$", "$1$2");
    if (variant.contains("\n            sidecar = \"unix:")) {
      variant = variant.replaceAll("(?m)^\\s*sidecar = \"127\\.0\\.0\\.1:4246\",\n", "");
    }
    return variant;
  }

  @Test
  void theCommentedTlsAndUnixVariants_uncommented_start(@TempDir Path certDir) throws IOException {
    TestCertificates certs = TestCertificates.create(certDir);
    // ngx_lua reads the CA again in each worker, as nginx's worker user.
    Path ca = Files.copy(certs.ca(), Nginx.newPrefix("conf-ca").resolve("ca.pem"));
    try {
      for (Path conf : confs()) {
        String text = read(conf);
        String variant = uncommented(text);
        assertThat(variant).as("%s has a commented variant", conf).isNotEqualTo(text);
        boolean tls = variant.contains("\n    lua_ssl_trusted_certificate ");
        if (tls) {
          assertThat(variant).contains("            tls = {\n", "lua_ssl_verify_depth 1;",
              "lua_ssl_protocols TLSv1.2 TLSv1.3;");
          variant = variant.replace("/etc/nginx/dockhealth/ca.pem", ca.toString())
              .replace("/etc/nginx/dockhealth/client.pem", certs.client().certificate().toString())
              .replace("/etc/nginx/dockhealth/client.key", certs.client().key().toString());
        } else {
          assertThat(variant).contains("\n            sidecar = \"unix:/run/dockhealth/http.sock\",\n")
              .doesNotContain("sidecar = \"127.0.0.1:4246\"");
        }
        int port = Ports.free();
        Path file = install(conf.getFileName().toString(), onLoopback(variant, port));
        try (Nginx nginx = Nginx.run(file.getParent(), file, port, 0)) {
          String status = Http.get(port, "/dockhealth/status").body();
          assertThat(status).as("%s: %s", conf, status)
              .contains("\"transport\":\"" + (tls ? "tls" : "unix") + "\"");
          assertThat(nginx.errorLog()).as(conf.toString()).doesNotContain("init_by_lua error", "[alert]", "[emerg]");
        }
      }
    } finally {
      Nginx.delete(ca.getParent());
    }
  }

  @Test
  void aClientKeyThatIsNotTheCertificates_stopsNginxFromStarting(@TempDir Path certDir) {
    TestCertificates certs = TestCertificates.create(certDir);
    String conf = uncommented(read(CONFS.resolve("front-hosts.conf")))
        .replace("/etc/nginx/dockhealth/ca.pem", certs.ca().toString())
        .replace("/etc/nginx/dockhealth/client.pem", certs.client().certificate().toString())
        .replace("/etc/nginx/dockhealth/client.key", certs.server().key().toString());
    Path file = install("mismatched.conf", onLoopback(conf, Ports.free()));
    try {
      Command start = Command.run(file.getParent(), Duration.ofSeconds(30), Nginx.BINARY.toString(), "-p",
          file.getParent() + "/", "-c", file.toString(), "-g", "daemon off;");
      assertThat(start.exitCode()).as(start.describe()).isNotZero();
      assertThat(start.output()).as(start.describe()).contains("init_by_lua error: dockhealth.configure:"
          + " tls.client_key: " + certs.server().key() + " (expected: the private key of client_cert "
          + certs.client().certificate() + ")");
    } finally {
      Nginx.delete(file.getParent());
    }
  }

  @Test
  void aBadOption_stopsNginxFromStarting_andNamesTheOption() {
    String conf = read(CONFS.resolve("front-hosts.conf"));
    for (String[] edit : List.of(
        new String[] {"policy = \"fail_open\"", "policy = \"fail_opn\"",
            "dockhealth.configure: policy: fail_opn (expected: fail_open or fail_closed)"},
        new String[] {"stale_after = 30", "stale_afer = 30", "dockhealth.configure: unknown option stale_afer"},
        new String[] {"peer = \"10.0.0.11:80\"", "peer = \"app-1.internal:80\"",
            "dockhealth.configure: hosts[1].peer: app-1.internal:80 (expected an IP address and port"})) {
      String broken = onLoopback(conf.replace(edit[0], edit[1]), Ports.free());
      assertThat(broken).doesNotContain(edit[0]);
      Path file = install("broken.conf", broken);
      try {
        Command start = Command.run(file.getParent(), Duration.ofSeconds(30), Nginx.BINARY.toString(), "-p",
            file.getParent() + "/", "-c", file.toString(), "-g", "daemon off;");
        assertThat(start.exitCode()).as(start.describe()).isNotZero();
        assertThat(start.output()).as(start.describe()).contains("init_by_lua error", edit[2]);
      } finally {
        Nginx.delete(file.getParent());
      }
    }
  }
}
