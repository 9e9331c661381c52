package io.dockhealth.lua;

import static io.dockhealth.lua.testing.Traffic.who;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.lua.testing.Backend;
import io.dockhealth.lua.testing.Http;
import io.dockhealth.lua.testing.Nginx;
import io.dockhealth.testing.Command;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.SidecarProcess.Readiness;
import io.dockhealth.testing.TestCertificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The balancer reaches its sidecars over TLS, mutual TLS and a unix socket, and a sidecar it cannot
 * trust or may not reach fails like an unreachable one: stale, with one warning that says why.
 *
 * <p>One Docker engine; three packaged sidecars on it: {@code tls} (TLS with the certificate of
 * {@link TestCertificates}, for 127.0.0.1 and localhost), {@code mtls} (TLS, and client certificates
 * of the test CA required) and {@code unix} (the HTTP gateway on a unix socket, mode 0660, in a
 * setgid directory of the group nginx's workers run as). A backend stands in for the host's nginx
 * (hosts topology) and for the container (local and cluster topologies: its dockhealth.port on the
 * host network). nginx #1 trusts the test CA ({@code lua_ssl_trusted_certificate}) with ngx_lua's
 * default protocols (up to TLS 1.2) and runs an instance (fail_closed; hosts topology, and over the
 * unix socket each topology) per way of reaching a sidecar;
 * nginx #2 trusts another CA and offers TLS 1.3, where a refused client certificate shows only after
 * the handshake (to see that, one of its instances checks no certificate: verify = false).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarTransportIT {
  private static final Duration AWAIT = Duration.ofSeconds(60);
  private static final String APP = "kappa";
  private static final String CONTAINER = "kappa-1";
  /** nginx's workers, started by root without a user directive: Debian builds nginx with nobody/nogroup. */
  private static final String WORKER_GROUP = "nogroup";

  /** Where the certificates are: ngx_lua reads lua_ssl_trusted_certificate again in each worker (nobody). */
  private static Path certDir;
  private static TestCertificates certs;
  private static DockerEngine engine;
  private static SidecarProcess tlsSidecar;
  private static SidecarProcess mtlsSidecar;
  private static SidecarProcess unixSidecar;
  private static Path socketDir;
  private static Backend host1;
  private static Nginx nginx;
  private static Nginx otherNginx;

  @BeforeAll
  static void start() throws IOException {
    certDir = Nginx.newPrefix("transport-certs");
    certs = TestCertificates.create(Files.createDirectory(certDir.resolve("ours")));
    TestCertificates otherCa = TestCertificates.create(Files.createDirectory(certDir.resolve("other")));
    engine = DockerEngine.start("lua-transport");
    tlsSidecar = SidecarProcess.builder(engine.host()).tls(certs, false).readiness(Readiness.IN_SYNC).start();
    mtlsSidecar = SidecarProcess.builder(engine.host()).tls(certs, true).readiness(Readiness.IN_SYNC).start();
    socketDir = socketDirectory();
    unixSidecar = SidecarProcess.builder(engine.host()).httpSocket(socketDir.resolve("http.sock"))
        .readiness(Readiness.IN_SYNC).start();
    host1 = Backend.start("host1");
    String tls = "server_name = \"localhost\"";
    String client = tls + ", client_cert = \"%s\", client_key = \"%s\"";
    Map<String, String> instances = new LinkedHashMap<>();
    instances.put("tls", instance(tlsSidecar.httpAddress(), tls));
    instances.put("mtls", instance(mtlsSidecar.httpAddress(),
        client.formatted(certs.client().certificate(), certs.client().key())));
    // The sidecar flag's form; the module takes ngx_lua's too. The other topologies reach the
    // container itself, at its dockhealth.port on the host network: the backend.
    Path socket = socketDir.resolve("http.sock");
    instances.put("unix", instance("unix://" + socket, null));
    instances.put("unixlocal", "topology = \"local\", sidecar = \"unix:" + socket + "\"");
    instances.put("unixcluster", "topology = \"cluster\", hosts = { { address = \"127.0.0.1\", sidecar = \"unix:"
        + socket + "\" } }");
    instances.put("nocert", instance(mtlsSidecar.httpAddress(), tls));
    instances.put("foreign", instance(mtlsSidecar.httpAddress(),
        client.formatted(certs.otherClient().certificate(), certs.otherClient().key())));
    instances.put("wrongname", instance(tlsSidecar.httpAddress(), "server_name = \"dockhealth.invalid\""));
    instances.put("plaintext", instance(tlsSidecar.httpAddress(), null));
    nginx = Nginx.start("transport", 2, conf(certs.ca(), "", instances));
    Map<String, String> others = new LinkedHashMap<>();
    others.put("wrongca", instance(tlsSidecar.httpAddress(), tls));
    // Not checking the sidecar (this nginx trusts another CA), and no client certificate.
    others.put("nocert13", instance(mtlsSidecar.httpAddress(), "verify = false"));
    otherNginx = Nginx.start("transport-other", 1, conf(otherCa.ca(), "lua_ssl_protocols TLSv1.2 TLSv1.3;", others));
    engine.docker("run", "-d", "--name", CONTAINER, "--network", "host", "--label", "dockhealth.service=" + APP,
        "--label", "dockhealth.port=" + host1.address().substring(host1.address().lastIndexOf(':') + 1),
        "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
        DockerEngine.IMAGE, "sleep", "3600");
    engine.docker("exec", CONTAINER, "sh", "-c", ">/tmp/ok");
  }

  /**
   * A directory for the unix socket that nginx's workers may enter, whose files get their group
   * (setgid), as a systemd RuntimeDirectory with a Group shared with nginx does; no access for others.
   */
  private static Path socketDirectory() throws IOException {
    Path base = Path.of("/tmp/dockhealth-lua-it");
    Files.createDirectories(base);
    Path dir = Files.createTempDirectory(base, "sock-");
    setGroup(dir, WORKER_GROUP);
    Command.run(List.of("chmod", "2750", dir.toString()), Duration.ofSeconds(10)).orThrow();
    return dir;
  }

  private static void setGroup(Path path, String group) throws IOException {
    GroupPrincipal principal = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
    Files.setAttribute(path, "posix:group", principal);
  }

  /** A hosts-topology instance's configure() options, its tls table if {@code tls} is not null. */
  private static String instance(String sidecar, String tls) {
    return "topology = \"hosts\", hosts = { { peer = \"" + host1.address() + "\", sidecar = \"" + sidecar + "\" } }"
        + (tls == null ? "" : ", tls = { " + tls + " }");
  }

  /**
   * An nginx trusting {@code ca}, with an instance per entry (fail_closed, a 4 s long-poll, retries
   * at most 1 s apart) behind {@code /<name>/<app>/}, and the status of one at
   * {@code /dockhealth?i=<name>}.
   */
  private static String conf(Path ca, String directives, Map<String, String> instances) {
    StringBuilder configure = new StringBuilder();
    StringBuilder upstreams = new StringBuilder();
    StringBuilder locations = new StringBuilder();
    instances.forEach((name, options) -> {
      configure.append("""
              dockhealth.configure({ name = "%s", shared_dict = "dockhealth", policy = "fail_closed",
                  stale_after = 5, wait = 4, timeout = 2, backoff_max = 1, %s })
          """.formatted(name, options));
      upstreams.append("""
          upstream %1$s {
              server 0.0.0.1;
              balancer_by_lua_block { require("resty.dockhealth").balance("%1$s") }
          }
          """.formatted(name));
      locations.append("""
              location ~ ^/%1$s/([^/]+)/ {
                  access_by_lua_block { require("resty.dockhealth").access("%1$s") }
                  proxy_pass http://%1$s;
              }
          """.formatted(name));
    });
    return """
        lua_shared_dict dockhealth 10m;
        lua_ssl_trusted_certificate %1$s;
        %2$s
        init_by_lua_block {
            local dockhealth = require "resty.dockhealth"
        %3$s
        }
        init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
        %4$s
        server {
            listen 127.0.0.1:${port};
        %5$s
            location = /dockhealth {
                content_by_lua_block { require("resty.dockhealth").status(ngx.var.arg_i) }
            }
        }
        """.formatted(ca, directives, configure, upstreams, locations);
  }

  @AfterEach
  void noLuaError() {
    assertThat(nginx.luaErrors()).as("Lua errors in nginx's error log").isEmpty();
    assertThat(otherNginx.luaErrors()).as("Lua errors in nginx #2's error log").isEmpty();
  }

  @AfterAll
  static void stop() {
    try {
      Closer.closeAll(nginx, otherNginx, tlsSidecar, mtlsSidecar, unixSidecar, host1, engine);
    } finally {
      for (Path dir : new Path[] {socketDir, certDir}) {
        if (dir != null) {
          Nginx.delete(dir);
        }
      }
    }
  }

  private static void awaitEach(List<String> instances, String expected) {
    await().atMost(AWAIT).untilAsserted(() -> {
      for (String name : instances) {
        assertThat(who(nginx.port(), "/" + name + "/" + APP + "/", 4)).as(name).containsOnly(expected);
      }
    });
  }

  private static String status(Nginx server, String instance) {
    return Http.get(server.port(), "/dockhealth?i=" + instance).body();
  }

  @Test
  @Order(1)
  void overTlsMutualTlsAndAUnixSocket_theBalancerFollowsTheSidecar() {
    List<String> instances = List.of("tls", "mtls", "unix", "unixlocal", "unixcluster");
    awaitEach(instances, "host1");
    for (String name : instances) {
      assertThat(status(nginx, name)).as(name).contains("\"stale\":false",
          "\"transport\":\"" + (name.startsWith("unix") ? "unix" : "tls") + "\"");
    }
    assertThat(status(nginx, "unix")).contains("\"unix:" + socketDir.resolve("http.sock") + "\":{");
    assertThat(status(nginx, "unixcluster")).contains("\"peer_host\":\"127.0.0.1\"");

    engine.docker("exec", CONTAINER, "rm", "-f", "/tmp/ok");
    awaitEach(instances, "503");
    engine.docker("exec", CONTAINER, "sh", "-c", ">/tmp/ok");
    awaitEach(instances, "host1");
  }

  /** An instance whose sidecar must fail, and what its status says then. */
  private record Failing(Nginx nginx, String name, String... error) {}

  @Test
  @Order(2)
  void refusedOrUntrustedSidecars_areStale_withOneWarningEach_andNeverRouted() {
    String refused = "GET /v1/health: TLS handshake failed: handshake failed (the sidecar refused it";
    // Then ngx_lua says "closed", "error" (a TLS alert) or, rarely, "connection reset by peer".
    String failedRead = "GET /v1/health: reading the status line failed: ";
    List<Failing> failing = List.of(
        new Failing(nginx, "nocert", refused),
        new Failing(nginx, "foreign", refused),
        new Failing(nginx, "wrongname", "GET /v1/health: TLS handshake failed: certificate host mismatch (the"
            + " sidecar's certificate does not carry the name tls.server_name)"),
        // Plaintext to a sidecar that serves TLS: it closes the connection.
        new Failing(nginx, "plaintext", failedRead, " (a new connection, closed without an answer: does the"
            + " sidecar serve TLS there?)"),
        new Failing(otherNginx, "wrongca", "GET /v1/health: TLS handshake failed: 21: unable to verify the first"
            + " certificate (the sidecar's certificate must chain to a CA in lua_ssl_trusted_certificate"),
        // TLS 1.3: the handshake ends before the sidecar has looked at the (missing) certificate.
        new Failing(otherNginx, "nocert13", failedRead, " (right after the TLS handshake: how a sidecar with"
            + " --tls-client-ca refuses a client certificate under TLS 1.3)"));
    for (Failing f : failing) {
      // Several retries (backoff_max 1 s), so that one warning is one for the outage, not one so far.
      await().atMost(AWAIT).untilAsserted(() -> {
        assertThat(status(f.nginx(), f.name())).as(f.name()).contains("\"stale\":true").contains(f.error());
        assertThat(stillFails(f.nginx(), f.name())).as(f.name()).isGreaterThanOrEqualTo(3);
      });
      // One warning for the outage, with its first error (under load, that may be a timeout); the
      // status shows the last.
      assertThat(warnings(f.nginx(), f.name())).as(f.name()).hasSize(1);
      assertThat(Http.get(f.nginx().port(), "/" + f.name() + "/" + APP + "/").body()).as(f.name())
          .isEqualTo("dockhealth: unknown service \"" + APP + "\"\n");
    }
    System.out.printf("transport: the warnings:%n%s%n", String.join("\n",
        failing.stream().flatMap(f -> warnings(f.nginx(), f.name()).stream()).toList()));
  }

  @Test
  @Order(3)
  void unixSocket_nginxsWorkersConnectByTheSocketsGroup_andAreToldWhenTheyMayNot() throws IOException {
    awaitEach(List.of("unix"), "host1");
    Path socket = socketDir.resolve("http.sock");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
    int socketGid = (Integer) Files.getAttribute(socket, "unix:gid");
    for (long worker : nginx.workerPids()) {
      assertThat(workerGid(worker)).as("the group of worker %d", worker).isEqualTo(socketGid);
    }

    // Restarted with its socket in root's group: the workers may not connect any more. A new outage
    // (not one that a slow answer began before): one more warning.
    await().atMost(AWAIT).untilAsserted(() -> assertThat(status(nginx, "unix")).doesNotContain("\"failing_for\""));
    int warned = warnings(nginx, "unix").size();
    unixSidecar.stop();
    setGroup(socketDir, "root");
    unixSidecar.start();
    await().atMost(AWAIT).untilAsserted(() -> assertThat(status(nginx, "unix")).contains(
        "connect failed: permission denied (nginx's worker user may not connect to the socket: its mode,"
            + " --socket-mode, and group must let it)"));
    assertThat(warnings(nginx, "unix")).as("warnings for the outage").hasSize(warned + 1);

    unixSidecar.stop();
    setGroup(socketDir, WORKER_GROUP);
    unixSidecar.start();
    awaitEach(List.of("unix"), "host1");
  }

  /** The effective group id of a process, from /proc. */
  private static int workerGid(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("Gid:")) {
        return Integer.parseInt(line.split("\\s+")[2]);
      }
    }
    throw new IllegalStateException("no Gid line for " + pid);
  }

  /** The instance's warnings that its sidecar failed. */
  private static List<String> warnings(Nginx server, String instance) {
    List<String> out = new ArrayList<>();
    for (String line : server.errorLog().lines().toList()) {
      if (line.contains("[warn]") && line.contains("dockhealth " + instance + ": sidecar ")
          && line.contains(": failed: ")) {
        out.add(line);
      }
    }
    return out;
  }

  /** How often the instance's poller has retried its failing sidecar (logged at info). */
  private static long stillFails(Nginx server, String instance) {
    return server.errorLog().lines()
        .filter(l -> l.contains("dockhealth " + instance + ": sidecar ") && l.contains(": still fails: "))
        .count();
  }
}
