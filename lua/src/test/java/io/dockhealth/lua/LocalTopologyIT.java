package io.dockhealth.lua;

import static io.dockhealth.lua.testing.Traffic.longestRun;
import static io.dockhealth.lua.testing.Traffic.who;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.lua.testing.Backend;
import io.dockhealth.lua.testing.BalancerStatus;
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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The local topology: nginx on the Docker host, its peers the containers of a service as the local
 * sidecar reports them, each at the address its {@code dockhealth.port} label names. The
 * containers are real busybox httpd servers on the host network, answering with their own name;
 * "dead" ones run nothing on their port, so connections to them are refused.
 *
 * <p>Instances: {@code local} (fail_closed, passive checks off, behind {@code /o/<app>/}),
 * {@code fallback} (fail_open with a fallback upstream for unknown names, behind {@code /f/<app>/}),
 * {@code passive} (max_fails 2, fail_timeout 5 s, behind {@code /p/<app>/}) and {@code single} (one
 * try per request, max_fails 1, fail_timeout 60 s, log_by_lua, behind {@code /s/<app>/}).
 */
class LocalTopologyIT {
  private static final Duration AWAIT = Duration.ofSeconds(30);
  private static final int MAX_FAILS = 2;
  private static final long FAIL_TIMEOUT_MS = 5000;

  private static DockerEngine engine;
  private static SidecarProcess sidecar;
  private static Backend fallback;
  private static Nginx nginx;

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("lua-local");
    sidecar = SidecarProcess.builder(engine.host()).httpPort(Ports.free()).readiness(Readiness.IN_SYNC).start();
    fallback = Backend.start("fallback");
    nginx = Nginx.start("local", 2, """
        lua_shared_dict dockhealth 10m;
        init_by_lua_block {
            local dockhealth = require "resty.dockhealth"
            dockhealth.configure({ name = "local", shared_dict = "dockhealth", topology = "local",
                sidecar = "%1$s", policy = "fail_closed", max_fails = 0 })
            dockhealth.configure({ name = "fallback", shared_dict = "dockhealth", topology = "local",
                sidecar = "%1$s", fallback = "%2$s" })
            dockhealth.configure({ name = "passive", shared_dict = "dockhealth", topology = "local",
                sidecar = "%1$s", max_fails = %3$d, fail_timeout = %4$d })
            dockhealth.configure({ name = "single", shared_dict = "dockhealth", topology = "local",
                sidecar = "%1$s", tries = 1, max_fails = 1, fail_timeout = 60 })
        }
        init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
        upstream local_apps {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("local") }
        }
        upstream fallback_apps {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("fallback") }
        }
        upstream passive_apps {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("passive") }
        }
        upstream single_apps {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("single") }
        }
        server {
            listen 127.0.0.1:${port};
            add_header X-Upstream $upstream_addr always;
            # nginx sets no limit of its own: set_more_tries alone bounds the retries. A 404 is
            # retried too, as a failure that comes later than a refused connection.
            proxy_next_upstream_tries 0;
            proxy_next_upstream error timeout http_404;
            location ~ ^/o/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("local", ngx.var.app) }
                rewrite ^/o/[^/]+(/.*)$ $1 break;
                proxy_pass http://local_apps;
            }
            location ~ ^/f/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("fallback", ngx.var.app) }
                rewrite ^/f/[^/]+(/.*)$ $1 break;
                proxy_pass http://fallback_apps;
            }
            location ~ ^/p/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("passive", ngx.var.app) }
                rewrite ^/p/[^/]+(/.*)$ $1 break;
                proxy_pass http://passive_apps;
            }
            location ~ ^/s/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("single", ngx.var.app) }
                rewrite ^/s/[^/]+(/.*)$ $1 break;
                proxy_pass http://single_apps;
                log_by_lua_block { require("resty.dockhealth").log("single") }
            }
            location = /dockhealth {
                content_by_lua_block { require("resty.dockhealth").status() }
            }
        }
        """.formatted(sidecar.httpAddress(), fallback.address(), MAX_FAILS, FAIL_TIMEOUT_MS / 1000));
  }

  @AfterEach
  void noLuaError() {
    assertThat(nginx.luaErrors()).as("Lua errors in nginx's error log").isEmpty();
  }

  @AfterAll
  static void stop() {
    Closer.closeAll(nginx, sidecar, fallback, engine);
  }

  /** What a test container serves on its port. */
  private enum Serves {
    /** Nothing: connections are refused. */
    NONE,
    /** busybox httpd with nothing to serve: 404 for every path. */
    NOT_FOUND,
    /** busybox httpd answering the container's name. */
    NAME
  }

  /**
   * A running container of compose service {@code shop/service} whose {@code dockhealth.port} label
   * names a free port, SERVING while it runs (no HEALTHCHECK). Returns its address.
   */
  private static String container(String name, String service, Serves serves) {
    return container(name, service, serves, false);
  }

  /**
   * Like {@link #container(String, String, Serves)}; with {@code healthcheck} it is NOT_SERVING
   * until {@link #healthy}.
   */
  private static String container(String name, String service, Serves serves, boolean healthcheck) {
    int port = Ports.free();
    List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "host",
        "--label", "com.docker.compose.project=shop", "--label", "com.docker.compose.service=" + service,
        "--label", "dockhealth.port=" + port));
    if (healthcheck) {
      args.addAll(List.of("--health-cmd", "test -f /tmp/ok", "--health-interval", "1s", "--health-retries", "1"));
    }
    args.add(DockerEngine.IMAGE);
    String httpd = "exec httpd -f -p 127.0.0.1:" + port + " -h /tmp/www";
    args.addAll(switch (serves) {
      case NONE -> List.of("sleep", "600");
      case NOT_FOUND -> List.of("sh", "-c", "mkdir -p /tmp/www && " + httpd);
      case NAME -> List.of("sh", "-c", "mkdir -p /tmp/www && echo " + name + " > /tmp/www/index.html && " + httpd);
    });
    engine.docker(args.toArray(String[]::new));
    return "127.0.0.1:" + port;
  }

  private static void healthy(String name) {
    engine.docker("exec", name, "sh", "-c", ">/tmp/ok");
  }

  private static void unhealthy(String name) {
    engine.docker("exec", name, "rm", "-f", "/tmp/ok");
  }

  private static int port() {
    return nginx.port();
  }

  private static void awaitEveryWorkerSees(String fragment) {
    BalancerStatus.awaitEveryWorkerSees(port(), "/dockhealth", fragment);
  }

  @Test
  void composeService_oneContainerUnhealthy_allTrafficToTheOther_sharedAgainWhenItRecovers() {
    String web1 = container("shop-web-1", "web", Serves.NAME, true);
    String web2 = container("shop-web-2", "web", Serves.NAME, true);
    healthy("shop-web-1");
    healthy("shop-web-2");
    await().atMost(AWAIT).untilAsserted(() ->
        assertThat(who(port(), "/o/web/", 10)).contains("shop-web-1", "shop-web-2"));
    List<String> shared = who(port(), "/o/web/", 40);
    assertThat(shared).containsOnly("shop-web-1", "shop-web-2");
    assertThat(longestRun(shared)).as("%s", shared).isLessThanOrEqualTo(2);

    unhealthy("shop-web-1");
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/o/web/", 20)).containsOnly("shop-web-2"));
    assertThat(who(port(), "/o/web/", 50)).as("shop-web-1 is unhealthy").containsOnly("shop-web-2");

    healthy("shop-web-1");
    await().atMost(AWAIT).untilAsserted(() ->
        assertThat(who(port(), "/o/web/", 10)).contains("shop-web-1", "shop-web-2"));
    shared = who(port(), "/o/web/", 40);
    assertThat(longestRun(shared)).as("%s", shared).isLessThanOrEqualTo(2);
    assertThat(shared.stream().filter("shop-web-1"::equals).count()).as("%s", shared).isBetween(18L, 22L);

    // Every worker shows what it sees.
    await().atMost(AWAIT).untilAsserted(() -> assertThat(Http.get(port(), "/dockhealth").body())
        .contains("\"0\":{\"view\":{", "\"1\":{\"view\":{")
        .contains("\"web\":{\"eligible\":[\"" + web1 + " shop-web-1\",\"" + web2 + " shop-web-2\"]"));
  }

  @Test
  void refusedBackend_retryLandsOnAnotherEligiblePeer_neverTheSameOne() throws Exception {
    // All four SERVING (no HEALTHCHECK): two refuse connections, one answers 404 (retried too,
    // see proxy_next_upstream in the conf, and slow enough to fail while other requests move the
    // worker's round-robin on), one answers.
    String refusing1 = container("flaky-refusing-1", "flaky", Serves.NONE);
    String refusing2 = container("flaky-refusing-2", "flaky", Serves.NONE);
    String notFound = container("flaky-404", "flaky", Serves.NOT_FOUND);
    String alive = container("flaky-ok", "flaky", Serves.NAME);
    // Every worker must know all four (members by name): a worker that knows only some may send a
    // request through none but the failing ones, and answer 502.
    awaitEveryWorkerSees("\"flaky\":{\"eligible\":[\"" + notFound + " flaky-404\",\"" + alive + " flaky-ok\",\""
        + refusing1 + " flaky-refusing-1\",\"" + refusing2 + " flaky-refusing-2\"]");

    // Concurrent requests, so that a retry happens after other requests took their turns.
    List<Answer> answers = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(8);
    try {
      List<Future<List<Answer>>> sent = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        sent.add(clients.submit(() -> Traffic.send(port(), "/o/flaky/", 10)));
      }
      for (Future<List<Answer>> f : sent) {
        answers.addAll(f.get(60, TimeUnit.SECONDS));
      }
    } finally {
      clients.shutdownNow();
    }
    Set<String> tried = new HashSet<>();
    for (Answer a : answers) {
      assertThat(a.who()).as("%s", a).isEqualTo("flaky-ok");
      assertThat(a.upstreams()).as("peers tried by one request").doesNotHaveDuplicates().endsWith(alive)
          .hasSizeLessThanOrEqualTo(4);
      tried.addAll(a.upstreams());
    }
    assertThat(tried).containsExactlyInAnyOrder(refusing1, refusing2, notFound, alive);
    assertThat(answers).hasSize(80).anyMatch(a -> a.upstreams().size() >= 3);

    // Every eligible peer refuses: each is tried once, then nginx gives up.
    String gone1 = container("dead-1", "dead", Serves.NONE);
    String gone2 = container("dead-2", "dead", Serves.NONE);
    // Wait until every worker knows both: a 502 alone may come while one knows only the first.
    awaitEveryWorkerSees("\"dead\":{\"eligible\":[\"" + gone1 + " dead-1\",\"" + gone2 + " dead-2\"]");
    for (Answer a : Traffic.send(port(), "/o/dead/", 10)) {
      assertThat(a.status()).isEqualTo(502);
      assertThat(a.upstreams()).containsExactlyInAnyOrder(gone1, gone2);
    }
  }

  @Test
  void oneRefusingPeerAmongTwo_firstTriesStillAlternate() {
    // Passive checks off: every request whose first try is the refusing peer is retried on the
    // other; the retry must not move the rotation, or every first try lands on the refusing one.
    String refusing = container("turn-refusing", "turn", Serves.NONE);
    String alive = container("turn-ok", "turn", Serves.NAME);
    // Every worker knows both (members by name): one that knows only the refusing one answers 502.
    awaitEveryWorkerSees("\"turn\":{\"eligible\":[\"" + alive + " turn-ok\",\"" + refusing + " turn-refusing\"]");
    List<Answer> answers = Traffic.send(port(), "/o/turn/", 40);
    assertThat(answers).allSatisfy(a -> assertThat(a.upstreams()).last().isEqualTo(alive));
    long refusingFirst = answers.stream().filter(a -> a.upstreams().get(0).equals(refusing)).count();
    System.out.printf("local: %d of 40 requests tried the refusing peer first%n", refusingFirst);
    assertThat(refusingFirst).as("requests that tried the refusing peer first, of 40 on one connection")
        .isBetween(18L, 22L);
  }

  @Test
  void refusingPeer_skippedAfterMaxFailsFailures_forFailTimeout_byEveryWorker() {
    String refusing = container("skip-refusing", "skip", Serves.NONE);
    String alive = container("skip-ok", "skip", Serves.NAME);
    awaitEveryWorkerSees("\"skip\":{\"eligible\":[\"" + alive + " skip-ok\",\"" + refusing + " skip-refusing\"]");

    // One request after the other (one connection, one worker) for two and a half fail_timeouts.
    List<Answer> answers = new ArrayList<>();
    long start = System.currentTimeMillis();
    while (System.currentTimeMillis() < start + FAIL_TIMEOUT_MS * 5 / 2) {
      answers.add(Http.get(port(), "/p/skip/"));
    }
    assertThat(answers).allMatch(a -> a.who().equals("skip-ok"));
    List<Long> tries = answers.stream().filter(a -> a.upstreams().contains(refusing)).map(Answer::sentAt).toList();
    System.out.printf("passive: %d requests in %d ms; %d tried the refusing peer, at %s ms%n", answers.size(),
        FAIL_TIMEOUT_MS * 5 / 2, tries.size(), tries.stream().map(t -> t - start).toList());
    // Bursts of max_fails tries, each followed by fail_timeout without one (nginx's clock may lag
    // the test's by a few milliseconds); without passive checks, every other request would try it.
    int bursts = 0;
    for (int i = 0; i < tries.size(); i += MAX_FAILS) {
      bursts++;
      int last = Math.min(i + MAX_FAILS, tries.size()) - 1;
      if (last + 1 < tries.size()) {
        assertThat(tries.get(last + 1) - tries.get(last)).as("ms between a burst's last try and the next, %s",
            tries).isGreaterThanOrEqualTo(FAIL_TIMEOUT_MS - 100);
      }
    }
    assertThat(bursts).as("bursts of tries in %d ms: %s", FAIL_TIMEOUT_MS * 5 / 2, tries).isBetween(2, 3);
    assertThat(nginx.errorLog()).contains("peer " + refusing + " (skip-refusing) failed " + MAX_FAILS
        + " time(s) within 5 s: skipped for 5 s");

    // Once it is skipped again, every worker shows it, through the shared dict (the requests came
    // to one worker).
    int[] failures = {0};
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(1)).until(() -> {
      if (Http.get(port(), "/p/skip/").upstreams().contains(refusing)) {
        failures[0]++;
      }
      return failures[0] == MAX_FAILS;
    });
    await().atMost(AWAIT).untilAsserted(() -> assertThat(Http.get(port(), "/dockhealth").body())
        .containsPattern("(?s)\"passive\":\\{.*\"skipped\":\\{\"" + Pattern.quote(refusing)
            + ".*\"skipped\":\\{\"" + Pattern.quote(refusing)));
  }

  @Test
  void withoutRetries_theLastTryCountsThroughTheLogPhase() {
    // One try per request: a refusing peer fails its request (502), and only log() can count it.
    String refusing = container("solo-refusing", "solo", Serves.NONE);
    String alive = container("solo-ok", "solo", Serves.NAME);
    // Until the worker has sent to both: the refusing one once (then it is skipped), the other.
    List<Answer> seen = new ArrayList<>();
    await().atMost(AWAIT).until(() -> {
      seen.add(Http.get(port(), "/s/solo/"));
      return seen.stream().anyMatch(a -> a.status() == 502)
          && seen.stream().anyMatch(a -> a.who().equals("solo-ok"));
    });
    assertThat(seen).filteredOn(a -> a.status() == 502)
        .allSatisfy(a -> assertThat(a.upstreams()).containsExactly(refusing));
    assertThat(seen).filteredOn(a -> a.status() == 200)
        .allSatisfy(a -> assertThat(a.upstreams()).containsExactly(alive));
    // Skipped for fail_timeout (60 s) from then on, by both workers once the other has refreshed
    // from the shared dict: without log(), every other request would fail.
    String skipped = "\"skipped\":\\{[^}]*" + Pattern.quote(refusing);
    await().atMost(AWAIT).untilAsserted(() -> assertThat(Http.get(port(), "/dockhealth").body())
        .containsPattern("(?s)" + skipped + ".*" + skipped));
    List<Answer> answers = Traffic.send(port(), "/s/solo/", 40);
    assertThat(Traffic.who(answers)).containsOnly("solo-ok");
  }

  @Test
  void unknownService_503_orTheFallbackUpstream() {
    Answer unknown = Http.get(port(), "/o/nope/");
    assertThat(unknown.status()).isEqualTo(503);
    assertThat(unknown.body()).isEqualTo("dockhealth: unknown service \"nope\"\n");
    assertThat(unknown.retryAfter()).isNull();

    assertThat(who(port(), "/f/nope/", 5)).containsOnly("fallback");
    // A known service never goes to the fallback.
    container("known-1", "known", Serves.NAME);
    await().atMost(AWAIT).untilAsserted(() -> assertThat(who(port(), "/f/known/", 5)).containsOnly("known-1"));
  }
}
