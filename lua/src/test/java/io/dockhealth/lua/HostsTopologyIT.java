package io.dockhealth.lua;

import static io.dockhealth.lua.testing.Traffic.longestRun;
import static io.dockhealth.lua.testing.Traffic.who;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.lua.testing.Backend;
import io.dockhealth.lua.testing.DockerEvents;
import io.dockhealth.lua.testing.Http;
import io.dockhealth.lua.testing.Http.Answer;
import io.dockhealth.lua.testing.Nginx;
import io.dockhealth.lua.testing.Traffic;
import io.dockhealth.testing.DockerEngine;
import io.dockhealth.testing.Ports;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.SidecarProcess.Readiness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The hosts topology: a front nginx whose peers are two hosts, each with its own Docker engine and
 * sidecar (a second private dockerd stands in for the second host), each host's own nginx played
 * by a backend that answers with the host's name. Everything real: the packaged sidecar jar, Debian's
 * nginx with ngx_lua, the module in lua/lib, and traffic over loopback TCP.
 *
 * <p>Two balancer instances share the hosts: {@code open} (fail_open, behind {@code /o/<app>/}, the
 * access helper reading the location's capture) and {@code closed} (fail_closed, Retry-After 7,
 * behind {@code /c/<app>/}). Each test uses apps of its own; the one that kills a sidecar runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostsTopologyIT {
  private static final Duration AWAIT = Duration.ofSeconds(30);
  private static final int STALE_AFTER_SECONDS = 3;

  private static DockerEngine engine1;
  private static DockerEngine engine2;
  private static SidecarProcess sidecar1;
  private static SidecarProcess sidecar2;
  private static Backend host1;
  private static Backend host2;
  private static Nginx nginx;

  @BeforeAll
  static void start() {
    engine1 = DockerEngine.start("lua-hosts-1");
    engine2 = DockerEngine.start("lua-hosts-2");
    sidecar1 = SidecarProcess.builder(engine1.host()).httpPort(Ports.free()).readiness(Readiness.IN_SYNC).start();
    sidecar2 = SidecarProcess.builder(engine2.host()).httpPort(Ports.free()).readiness(Readiness.IN_SYNC).start();
    host1 = Backend.start("host1");
    host2 = Backend.start("host2");
    nginx = Nginx.start("hosts", 2, """
        lua_shared_dict dockhealth 10m;
        init_by_lua_block {
            local dockhealth = require "resty.dockhealth"
            local hosts = {
                { peer = "%1$s", sidecar = "%2$s" },
                { peer = "%3$s", sidecar = "%4$s" },
            }
            dockhealth.configure({ name = "open", shared_dict = "dockhealth", topology = "hosts",
                hosts = hosts, stale_after = %5$d })
            dockhealth.configure({ name = "closed", shared_dict = "dockhealth", topology = "hosts",
                hosts = hosts, stale_after = %5$d, policy = "fail_closed", retry_after = 7 })
        }
        init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
        upstream open {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("open") }
        }
        upstream closed {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("closed") }
        }
        server {
            listen 127.0.0.1:${port};
            add_header X-Upstream $upstream_addr always;
            location ~ ^/o/([^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("open") }
                proxy_pass http://open;
            }
            location ~ ^/c/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("closed", ngx.var.app) }
                proxy_pass http://closed;
            }
            location = /dockhealth {
                content_by_lua_block { require("resty.dockhealth").status() }
            }
        }
        """.formatted(host1.address(), sidecar1.httpAddress(), host2.address(), sidecar2.httpAddress(),
        STALE_AFTER_SECONDS));
  }

  @AfterEach
  void noLuaError() {
    assertThat(nginx.luaErrors()).as("Lua errors in nginx's error log").isEmpty();
  }

  @AfterAll
  static void stop() {
    Closer.closeAll(nginx, sidecar1, sidecar2, host1, host2, engine1, engine2);
  }

  /** A container of {@code app} on a host, NOT_SERVING until {@link #healthy} (its HEALTHCHECK). */
  private static void runApp(DockerEngine engine, String name, String app) {
    engine.docker("run", "-d", "--name", name, "--network", "host", "--label", "dockhealth.service=" + app,
        "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
        DockerEngine.IMAGE, "sleep", "600");
  }

  private static void healthy(DockerEngine engine, String name) {
    engine.docker("exec", name, "sh", "-c", ">/tmp/ok");
  }

  private static void unhealthy(DockerEngine engine, String name) {
    engine.docker("exec", name, "rm", "-f", "/tmp/ok");
  }

  private static int port() {
    return nginx.port();
  }

  /** Sends requests one after the other until {@code done} holds for what came back. */
  private static List<Answer> sendUntil(String path, Predicate<List<Answer>> done) {
    List<Answer> seen = Collections.synchronizedList(new ArrayList<>());
    await().atMost(AWAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(2))
        .until(() -> {
          seen.add(Http.get(port(), path));
          return done.test(seen);
        });
    return seen;
  }

  private static boolean lastAllBy(List<Answer> seen, int n, String who) {
    return seen.size() >= n && seen.subList(seen.size() - n, seen.size()).stream().allMatch(a -> a.who().equals(who));
  }

  @Test
  @Order(1)
  void trafficGoesOnlyToTheHostWhoseAppIsHealthy_andFollowsEachDockerEventWithinASecond() {
    runApp(engine1, "alpha-on-1", "alpha");
    runApp(engine2, "alpha-on-2", "alpha");
    healthy(engine1, "alpha-on-1");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/alpha/", 10)).containsOnly("host1"));
    assertThat(who(port(), "/o/alpha/", 50)).as("alpha is healthy on host1 only").containsOnly("host1");
    assertThat(who(port(), "/c/alpha/", 50)).as("alpha is healthy on host1 only").containsOnly("host1");

    try (DockerEvents events1 = DockerEvents.follow(engine1); DockerEvents events2 = DockerEvents.follow(engine2)) {
      // host2's alpha passes its check: host2 gets traffic within a second of Docker saying so.
      healthy(engine2, "alpha-on-2");
      List<Answer> seen = sendUntil("/o/alpha/", s -> s.get(s.size() - 1).who().equals("host2"));
      long healthyAt = events2.timeOf("alpha-on-2", "health_status: healthy");
      Answer first = seen.get(seen.size() - 1);
      System.out.printf("hosts: host2 got traffic %d ms after Docker's healthy event%n", first.receivedAt() - healthyAt);
      assertThat(first.receivedAt() - healthyAt)
          .as("ms from Docker's health_status: healthy on host2 to the first request routed there")
          .isLessThan(1000);
      assertThat(seen).allMatch(a -> a.status() == 200);

      // host1's alpha fails its check: within a second every request goes to host2.
      unhealthy(engine1, "alpha-on-1");
      seen = sendUntil("/o/alpha/", s -> lastAllBy(s, 20, "host2"));
      long unhealthyAt = events1.timeOf("alpha-on-1", "health_status: unhealthy");
      // Strictly alternating before the flip (one connection, one worker), so the third host2
      // answer in a row proves the flip; that answer came at most this long after the event.
      int lastHost1 = who(seen).lastIndexOf("host1");
      assertThat(lastHost1).as("host1 still got traffic while healthy: %s", who(seen)).isGreaterThanOrEqualTo(0);
      Answer proof = seen.get(lastHost1 + 3);
      System.out.printf("hosts: traffic left host1 at most %d ms after Docker's unhealthy event%n",
          proof.receivedAt() - unhealthyAt);
      assertThat(proof.receivedAt() - unhealthyAt)
          .as("ms from Docker's health_status: unhealthy on host1 to the flip, answers: %s", who(seen))
          .isLessThan(1000);
    }
    assertThat(who(port(), "/o/alpha/", 50)).containsOnly("host2");
    assertThat(who(port(), "/c/alpha/", 50)).containsOnly("host2");
  }

  @Test
  @Order(2)
  void bothHostsHealthy_trafficAlternates() {
    runApp(engine1, "delta-on-1", "delta");
    runApp(engine2, "delta-on-2", "delta");
    healthy(engine1, "delta-on-1");
    healthy(engine2, "delta-on-2");
    // Asked through fail_closed: fail_open would share traffic while both are still starting.
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/delta/", 10)).contains("host1", "host2"));

    for (String path : List.of("/o/delta/", "/c/delta/")) {
      List<String> seen = who(port(), path, 40);
      long toHost1 = seen.stream().filter("host1"::equals).count();
      assertThat(seen).as(path).containsOnly("host1", "host2");
      // Each worker alternates; merging two workers' turns never gives more than two in a row.
      assertThat(longestRun(seen)).as("%s: %s", path, seen).isLessThanOrEqualTo(2);
      assertThat(toHost1).as("%s: %s", path, seen).isBetween(18L, 22L);
    }
  }

  @Test
  @Order(3)
  void allUnhealthy_failOpenUsesEveryKnownHost_failClosedAnswers503WithRetryAfter() {
    runApp(engine1, "beta-on-1", "beta");
    runApp(engine2, "beta-on-2", "beta");
    healthy(engine1, "beta-on-1");
    healthy(engine2, "beta-on-2");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/beta/", 10)).contains("host1", "host2"));

    unhealthy(engine1, "beta-on-1");
    unhealthy(engine2, "beta-on-2");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/beta/", 5)).containsOnly("503"));

    Answer refused = Http.get(port(), "/c/beta/");
    assertThat(refused.status()).isEqualTo(503);
    assertThat(refused.retryAfter()).isEqualTo("7");
    assertThat(refused.body()).isEqualTo("dockhealth: no healthy peer for \"beta\"; retry later\n");
    assertThat(refused.upstreams()).as("nginx answered itself").isEmpty();

    List<String> open = who(port(), "/o/beta/", 40);
    assertThat(open).as("fail_open: every known host").containsOnly("host1", "host2").contains("host1", "host2");
    assertThat(nginx.errorLog()).contains("no peer of \"beta\" is healthy; failing open to all 2 known peers");
    // Workers publish their counters at most once a second.
    await().atMost(AWAIT).untilAsserted(() -> assertThat(Http.get(port(), "/dockhealth").body())
        .containsPattern("\"fail_open\":[1-9]").containsPattern("\"no_peer\":[1-9]"));

    // A name no sidecar knows: 503 with a short body, whatever the policy.
    for (String path : List.of("/o/nope/", "/c/nope/")) {
      Answer unknown = Http.get(port(), path);
      assertThat(unknown.status()).as(path).isEqualTo(503);
      assertThat(unknown.body()).as(path).isEqualTo("dockhealth: unknown service \"nope\"\n");
    }
  }

  @Test
  @Order(4)
  void userTraffic_makesNoNetworkCall_onlyOnePollerPerSidecarAndInstance() {
    runApp(engine1, "epsilon-on-1", "epsilon");
    runApp(engine2, "epsilon-on-2", "epsilon");
    healthy(engine1, "epsilon-on-1");
    healthy(engine2, "epsilon-on-2");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/epsilon/", 10)).contains("host1", "host2"));
    // Two workers, two instances: one long-poll per instance at each sidecar, never one per worker.
    await().atMost(AWAIT).untilAsserted(() -> {
      assertThat(sidecar1.httpLongPolls()).isEqualTo(2);
      assertThat(sidecar2.httpLongPolls()).isEqualTo(2);
    });

    long before1 = sidecar1.httpRequestsServed();
    long before2 = sidecar2.httpRequestsServed();
    List<String> seen = new ArrayList<>(who(port(), "/o/epsilon/", 500));
    seen.addAll(who(port(), "/c/epsilon/", 500));
    long after1 = sidecar1.httpRequestsServed();
    long after2 = sidecar2.httpRequestsServed();

    System.out.printf("hosts: sidecar requests during 1,000 user requests: %d and %d%n", after1 - before1,
        after2 - before2);
    assertThat(seen).hasSize(1000).containsOnly("host1", "host2");
    // Long-polls that end meanwhile (a 304 after the wait, a periodic resync) are the sidecars'
    // own pace: at most a couple per poller, however many user requests there were.
    assertThat(after1 - before1).as("sidecar1's requests during 1,000 user requests").isLessThanOrEqualTo(4);
    assertThat(after2 - before2).as("sidecar2's requests during 1,000 user requests").isLessThanOrEqualTo(4);
    assertThat(sidecar1.httpLongPolls()).isEqualTo(2);
    assertThat(sidecar2.httpLongPolls()).isEqualTo(2);
  }

  @Test
  @Order(5)
  void pollingWorkerKilled_anotherWorkerTakesOver_andRoutingStillFollowsDocker() {
    runApp(engine1, "zeta-on-1", "zeta");
    runApp(engine2, "zeta-on-2", "zeta");
    healthy(engine1, "zeta-on-1");
    healthy(engine2, "zeta-on-2");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/zeta/", 10)).contains("host1", "host2"));

    long poller = pollerOf("closed", sidecar1);
    assertThat(nginx.workerPids()).contains(poller);
    ProcessHandle.of(poller).orElseThrow().destroyForcibly();
    long killedAt = System.currentTimeMillis();
    unhealthy(engine1, "zeta-on-1");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/c/zeta/", 10)).containsOnly("host2"));
    long followedAfter = System.currentTimeMillis() - killedAt;
    System.out.printf("hosts: with the polling worker killed, routing followed Docker after %d ms%n", followedAfter);
    // The dead worker's lock runs out within its 5 s TTL; another worker takes it within a second.
    assertThat(followedAfter).as("ms until routing followed Docker again").isLessThan(9000);
    long next = pollerOf("closed", sidecar1);
    assertThat(next).isNotEqualTo(poller);
    assertThat(nginx.workerPids()).contains(next);
  }

  /** The pid of the worker polling {@code sidecar} for {@code instance}, from the status handler. */
  private static long pollerOf(String instance, SidecarProcess sidecar) {
    Pattern pid = Pattern.compile("\"" + instance + "\":\\{.*?\"" + Pattern.quote(sidecar.httpAddress())
        + "\":\\{[^}]*\"polled_by_pid\":(\\d+)");
    return await().atMost(AWAIT).until(() -> {
      Matcher m = pid.matcher(Http.get(port(), "/dockhealth").body());
      return m.find() ? Long.valueOf(m.group(1)) : null;
    }, p -> p != null);
  }

  @Test
  @Order(6)
  void sidecarKilled_routingHoldsUntilStaleAfter_thenThePolicy_andRecoversWithoutReload() {
    runApp(engine1, "gamma-on-1", "gamma");
    runApp(engine2, "gamma-on-2", "gamma");
    healthy(engine1, "gamma-on-1"); // host2's stays NOT_SERVING (starting)
    await().atMost(AWAIT).untilAsserted(() -> {
      assertThat(who(port(), "/c/gamma/", 10)).containsOnly("host1");
      assertThat(who(port(), "/o/gamma/", 10)).containsOnly("host1");
    });
    long master = nginx.pid();
    Set<Long> workers = nginx.workerPids();

    long killedAt = System.currentTimeMillis();
    sidecar1.kill();
    // Until stale_after, host1's last snapshot still counts: the same routing, both policies.
    List<String> held = new ArrayList<>();
    while (System.currentTimeMillis() < killedAt + STALE_AFTER_SECONDS * 1000L - 500) {
      held.add(Http.get(port(), "/c/gamma/").who());
      held.add(Http.get(port(), "/o/gamma/").who());
    }
    assertThat(held).as("routing while host1's sidecar is down, before stale_after").isNotEmpty().containsOnly("host1");

    // Then host1 is no longer eligible and gamma has no healthy peer: the policy applies.
    List<Answer> closed = sendUntil("/c/gamma/", s -> s.get(s.size() - 1).status() == 503);
    long refusedAfter = closed.get(closed.size() - 1).receivedAt() - killedAt;
    System.out.printf("hosts: fail_closed refused %d ms after the sidecar was killed (stale_after %d s)%n",
        refusedAfter, STALE_AFTER_SECONDS);
    assertThat(refusedAfter).as("ms from the kill to fail_closed's first 503")
        .isBetween(STALE_AFTER_SECONDS * 1000L - 100, STALE_AFTER_SECONDS * 1000L + 2000);
    assertThat(who(port(), "/o/gamma/", 20)).as("fail_open: every known host").contains("host1", "host2");
    assertThat(Http.get(port(), "/dockhealth").body())
        .contains("\"" + sidecar1.httpAddress() + "\":{\"answered_ago\":")
        .containsPattern("\"last_error\":\"GET /v1/[^\"]*(connect failed|closed|refused)")
        .contains("\"stale\":true");

    // The sidecar comes back: routing recovers by itself.
    sidecar1.start();
    await().atMost(AWAIT).untilAsserted(() -> {
      assertThat(who(port(), "/c/gamma/", 10)).containsOnly("host1");
      assertThat(who(port(), "/o/gamma/", 10)).containsOnly("host1");
    });
    assertThat(nginx.pid()).isEqualTo(master);
    assertThat(nginx.workerPids()).as("the same workers: no reload, no restart").isEqualTo(workers);
    assertThat(nginx.errorLog()).contains("sidecar " + sidecar1.httpAddress() + ": answers again, in sync, after");
  }
}
