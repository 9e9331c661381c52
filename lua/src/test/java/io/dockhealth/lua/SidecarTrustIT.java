package io.dockhealth.lua;

import static io.dockhealth.lua.testing.Traffic.who;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.lua.testing.Backend;
import io.dockhealth.lua.testing.Http;
import io.dockhealth.lua.testing.Http.Answer;
import io.dockhealth.lua.testing.Nginx;
import io.dockhealth.testing.Ports;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.SidecarProcess.Readiness;
import io.dockhealth.lua.testing.Traffic;
import io.dockhealth.lua.testing.Traffic.Load;
import io.dockhealth.testing.DockerEngine;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * When a sidecar cannot be trusted: it restarts, it is up but not in sync with Docker (Docker
 * stopped, or the sidecar restarted while Docker is away), or it hangs (SIGSTOP). The balancer must
 * keep the last good view for {@code stale_after}, then apply its policy, and never turn a known app
 * into an unknown one. One host (hosts topology): a private dockerd with {@code --live-restore}, so
 * its containers outlive the daemon, the packaged sidecar, and a backend standing in for the host's
 * nginx. Instances {@code closed} (fail_closed, behind {@code /c/<app>/}) and {@code open}
 * (fail_open, behind {@code /o/<app>/}), both with stale_after 12 s (long enough for a sidecar to
 * restart within it on a busy machine), a long-poll wait of 4 s and a 1 s timeout: a hung sidecar
 * goes stale at most max(stale_after, wait + timeout) = 12 s after its last answer.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SidecarTrustIT {
  private static final Duration AWAIT = Duration.ofSeconds(30);
  private static final long STALE_AFTER_MS = 12_000;
  private static final long WAIT_MS = 4000;
  private static final String APP = "kappa";

  private static DockerEngine engine;
  private static SidecarProcess sidecar;
  private static Backend host1;
  private static Nginx nginx;

  @BeforeAll
  static void start() {
    engine = DockerEngine.start("lua-trust", "--live-restore");
    sidecar = SidecarProcess.builder(engine.host()).httpPort(Ports.free()).readiness(Readiness.IN_SYNC).start();
    host1 = Backend.start("host1");
    nginx = Nginx.start("trust", 2, """
        lua_shared_dict dockhealth 10m;
        init_by_lua_block {
            local dockhealth = require "resty.dockhealth"
            local hosts = { { peer = "%1$s", sidecar = "%2$s" } }
            dockhealth.configure({ name = "closed", shared_dict = "dockhealth", topology = "hosts",
                hosts = hosts, stale_after = %3$d, wait = %4$d, timeout = 1, backoff_max = 1,
                policy = "fail_closed" })
            dockhealth.configure({ name = "open", shared_dict = "dockhealth", topology = "hosts",
                hosts = hosts, stale_after = %3$d, wait = %4$d, timeout = 1, backoff_max = 1 })
        }
        init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
        upstream closed {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("closed") }
        }
        upstream open {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("open") }
        }
        server {
            listen 127.0.0.1:${port};
            add_header X-Upstream $upstream_addr always;
            location ~ ^/c/([^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("closed") }
                proxy_pass http://closed;
            }
            location ~ ^/o/([^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("open") }
                proxy_pass http://open;
            }
            location = /dockhealth {
                content_by_lua_block { require("resty.dockhealth").status() }
            }
        }
        """.formatted(host1.address(), sidecar.httpAddress(), STALE_AFTER_MS / 1000, WAIT_MS / 1000));
    engine.docker("run", "-d", "--name", "kappa-1", "--network", "host", "--label", "dockhealth.service=" + APP,
        DockerEngine.IMAGE, "sleep", "3600");
  }

  @AfterEach
  void noLuaError() {
    assertThat(nginx.luaErrors()).as("Lua errors in nginx's error log").isEmpty();
  }

  @AfterAll
  static void stop() {
    Closer.closeAll(nginx, sidecar, host1, engine);
  }

  private static int port() {
    return nginx.port();
  }

  /** Both instances route the app to host1 (after the sidecar has caught up, if it had to). */
  private static void awaitRoutedToHost1() {
    await().atMost(AWAIT).untilAsserted(() -> {
      assertThat(who(port(), "/c/" + APP + "/", 5)).containsOnly("host1");
      assertThat(who(port(), "/o/" + APP + "/", 5)).containsOnly("host1");
    });
  }

  /** What both instances answered while {@code change} happened, under load, until fail_closed refused. */
  private record Seen(List<Answer> closed, List<Answer> open) {
    /** When fail_closed first refused (ms since the epoch); it must have. */
    long firstRefusal() {
      return closed.stream().filter(a -> a.status() == 503).mapToLong(Answer::receivedAt).min().orElseThrow();
    }

    /**
     * Checks the rules that hold all along: fail_closed routes to host1 or refuses the known app
     * (never "unknown service"), fail_open always routes to host1 (the known host), and every
     * answer fail_closed gave before {@code trustedUntil} came from host1.
     */
    void check(long trustedUntil) {
      assertThat(closed).isNotEmpty().allSatisfy(a -> {
        if (a.status() != 200) {
          assertThat(a.body()).isEqualTo("dockhealth: no healthy peer for \"" + APP + "\"; retry later\n");
        }
      });
      assertThat(closed.stream().filter(a -> a.receivedAt() < trustedUntil).map(Answer::who))
          .as("fail_closed's answers while the last good view counts").isNotEmpty().containsOnly("host1");
      assertThat(Traffic.who(open)).as("fail_open's answers").containsOnly("host1");
    }
  }

  /** Load on both instances while {@code change} runs, then until fail_closed refuses. */
  private static Seen underLoad(Runnable change) {
    try (Load closed = Load.start(port(), "/c/" + APP + "/", 1); Load open = Load.start(port(), "/o/" + APP + "/", 1)) {
      change.run();
      await().atMost(AWAIT).until(() -> closed.answers().stream().anyMatch(a -> a.status() == 503));
      return new Seen(closed.stop(), open.stop());
    }
  }

  @Test
  @Order(1)
  void sidecarRestarted_withDockerUp_routingNeverFalters() {
    awaitRoutedToHost1();
    List<Answer> seen;
    try (Load load = Load.start(port(), "/c/" + APP + "/", 2)) {
      sidecar.kill();
      sidecar.start();
      long upAt = System.currentTimeMillis();
      await().atMost(AWAIT).until(() -> load.answers().stream().anyMatch(a -> a.sentAt() > upAt + 1000));
      seen = load.stop();
    }
    assertThat(Traffic.who(seen)).as("answers while the sidecar restarts").isNotEmpty().containsOnly("host1");
  }

  @Test
  @Order(2)
  void dockerStopped_sidecarNotInSync_lastGoodViewHoldsForStaleAfter_thenThePolicy() {
    awaitRoutedToHost1();
    long stoppingAt = System.currentTimeMillis();
    long[] stoppedAt = new long[1];
    Seen seen = underLoad(() -> {
      engine.stop(); // --live-restore: kappa-1 keeps running; the sidecar only remembers it now
      stoppedAt[0] = System.currentTimeMillis();
    });
    seen.check(stoppingAt + STALE_AFTER_MS);
    long refusedAfter = seen.firstRefusal() - stoppingAt;
    System.out.printf("trust: Docker stopped; fail_closed refused %d ms later (stale_after %d ms)%n", refusedAfter,
        STALE_AFTER_MS);
    assertThat(refusedAfter).as("ms from stopping Docker to fail_closed's first 503")
        .isBetween(STALE_AFTER_MS, stoppedAt[0] - stoppingAt + STALE_AFTER_MS + 2000);
    assertThat(Http.get(port(), "/dockhealth").body()).contains("\"stale\":true", "not in sync with Docker");

    engine.restart();
    awaitRoutedToHost1();
  }

  @Test
  @Order(3)
  void sidecarRestartedWhileDockerIsAway_knownAppsNeverTurnUnknown() {
    awaitRoutedToHost1();
    long killedAt = System.currentTimeMillis();
    long[] seenAt = new long[1];
    Seen seen = underLoad(() -> {
      sidecar.kill();
      engine.stop();
      sidecar.start(Readiness.LISTENING); // answers at once, knowing nothing: {"version":"0",...,"inSync":false}
      // The poller has met the restarted sidecar (it said it is not in sync).
      await().atMost(AWAIT).until(() -> Http.get(port(), "/dockhealth").body().contains("not in sync with Docker"));
      seenAt[0] = System.currentTimeMillis();
    });
    System.out.printf("trust: the balancer met the restarted sidecar %d ms after the kill; fail_closed refused"
        + " %d ms after it%n", seenAt[0] - killedAt, seen.firstRefusal() - killedAt);
    assertThat(seenAt[0] - killedAt).as("ms until the balancer met the restarted sidecar (else this test shows"
        + " nothing)").isLessThan(STALE_AFTER_MS - 1000);
    seen.check(killedAt + STALE_AFTER_MS);
    assertThat(seen.firstRefusal() - killedAt).isGreaterThanOrEqualTo(STALE_AFTER_MS);

    engine.restart();
    awaitRoutedToHost1();
  }

  @Test
  @Order(4)
  void hungSidecar_goesStaleWithinStaleAfterOfItsLastAnswer_andRecoversWhenItContinues() {
    awaitRoutedToHost1();
    long pausedAt = System.currentTimeMillis();
    Seen seen;
    try {
      seen = underLoad(sidecar::pause);
    } finally {
      sidecar.resume();
    }
    // Its last answer (a 304 at least every `wait`) came at most `wait` before the pause.
    seen.check(pausedAt + STALE_AFTER_MS - WAIT_MS - 1000);
    long refusedAfter = seen.firstRefusal() - pausedAt;
    System.out.printf("trust: hung sidecar; fail_closed refused %d ms after SIGSTOP (bound: stale_after, %d ms)%n",
        refusedAfter, STALE_AFTER_MS);
    assertThat(refusedAfter).as("ms from SIGSTOP to fail_closed's first 503").isLessThan(STALE_AFTER_MS + 1500);
    awaitRoutedToHost1();
  }
}
