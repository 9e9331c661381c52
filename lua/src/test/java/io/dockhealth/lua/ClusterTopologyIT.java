package io.dockhealth.lua;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dockhealth.lua.testing.BalancerStatus;
import io.dockhealth.lua.testing.DockerEvents;
import io.dockhealth.lua.testing.Http;
import io.dockhealth.lua.testing.Http.Answer;
import io.dockhealth.lua.testing.Nginx;
import io.dockhealth.testing.Ports;
import io.dockhealth.testing.SidecarProcess;
import io.dockhealth.testing.SidecarProcess.Readiness;
import io.dockhealth.lua.testing.Traffic;
import io.dockhealth.lua.testing.Traffic.Load;
import io.dockhealth.testing.DockerEngine;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The cluster topology: one nginx over the containers of a service spread over three hosts, each
 * host a private dockerd with its own sidecar. A container is reached at its host's address and the
 * port its {@code dockhealth.port} label names. The three hosts' addresses are 127.0.0.1, 127.0.0.2
 * and 127.0.0.3 (loopback all): each container's busybox httpd (host network) listens on its host's
 * address only, and the sidecars report every one of them at 127.0.0.1:port, so only a balancer
 * that puts each host's address in its place reaches them all.
 *
 * <p>Service {@code shop}: shop-1 on host 1, shop-2 and shop-3 on host 2, shop-4 on host 3, all on
 * the same port but shop-3 (a second port on host 2). Instance {@code cluster}: fail_closed,
 * stale_after 3 s, behind {@code /o/<app>/}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTopologyIT {
  private static final Duration AWAIT = Duration.ofSeconds(30);
  private static final long STALE_AFTER_MS = 3000;
  private static final int HOSTS = 3;
  private static final List<String> SHOP = List.of("shop-1", "shop-2", "shop-3", "shop-4");

  private static final DockerEngine[] engines = new DockerEngine[HOSTS];
  private static final SidecarProcess[] sidecars = new SidecarProcess[HOSTS];
  private static Nginx nginx;
  private static Map<String, String> addressOf;

  @BeforeAll
  static void start() {
    for (int i = 0; i < HOSTS; i++) {
      engines[i] = DockerEngine.start("lua-cluster-" + (i + 1));
      sidecars[i] = SidecarProcess.builder(engines[i].host()).httpPort(Ports.free()).readiness(Readiness.IN_SYNC).start();
    }
    nginx = Nginx.start("cluster", 2, """
        lua_shared_dict dockhealth 10m;
        init_by_lua_block {
            require("resty.dockhealth").configure({ name = "cluster", shared_dict = "dockhealth",
                topology = "cluster", policy = "fail_closed", stale_after = %4$d, wait = 2, timeout = 1,
                hosts = {
                    { address = "127.0.0.1", sidecar = "%1$s" },
                    { address = "127.0.0.2", sidecar = "%2$s" },
                    { address = "127.0.0.3", sidecar = "%3$s" },
                } })
        }
        init_worker_by_lua_block { require("resty.dockhealth").init_worker() }
        upstream cluster {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("cluster") }
        }
        server {
            listen 127.0.0.1:${port};
            add_header X-Upstream $upstream_addr always;
            location ~ ^/o/(?<app>[^/]+)/ {
                access_by_lua_block { require("resty.dockhealth").access("cluster", ngx.var.app) }
                rewrite ^/o/[^/]+(/.*)$ $1 break;
                proxy_pass http://cluster;
                proxy_next_upstream error timeout;
            }
            location = /dockhealth {
                content_by_lua_block { require("resty.dockhealth").status() }
            }
        }
        """.formatted(sidecars[0].httpAddress(), sidecars[1].httpAddress(), sidecars[2].httpAddress(), STALE_AFTER_MS / 1000));
    int port = Ports.free();
    int other = port;
    while (other == port) {
      other = Ports.free();
    }
    addressOf = Map.of(
        "shop-1", container(0, "shop-1", port),
        "shop-2", container(1, "shop-2", port),
        "shop-3", container(1, "shop-3", other),
        "shop-4", container(2, "shop-4", port));
    SHOP.forEach(name -> healthy(name));
  }

  @AfterEach
  void noLuaError() {
    assertThat(nginx.luaErrors()).as("Lua errors in nginx's error log").isEmpty();
  }

  @AfterAll
  static void stop() {
    AutoCloseable[] all = new AutoCloseable[1 + 2 * HOSTS];
    all[0] = nginx;
    for (int i = 0; i < HOSTS; i++) {
      all[1 + i] = sidecars[i];
      all[1 + HOSTS + i] = engines[i];
    }
    Closer.closeAll(all);
  }

  /**
   * A container of service shop on host {@code host} (0-based), serving its name with busybox httpd
   * on the host's address and {@code port}; NOT_SERVING until {@link #healthy}. Returns where the
   * balancer must send its traffic.
   */
  private static String container(int host, String name, int port) {
    String address = "127.0.0." + (host + 1);
    engines[host].docker("run", "-d", "--name", name, "--network", "host", "--label", "dockhealth.service=shop",
        "--label", "dockhealth.port=" + port, "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
        "--health-retries", "1", DockerEngine.IMAGE, "sh", "-c", "mkdir -p /tmp/www && echo " + name
            + " > /tmp/www/index.html && exec httpd -f -p " + address + ":" + port + " -h /tmp/www");
    await().atMost(AWAIT).pollInterval(Duration.ofMillis(100)).until(() -> {
      try (Socket socket = new Socket(address, port)) {
        return true;
      } catch (IOException e) {
        String state = engines[host].docker("inspect", "-f", "{{.State.Status}}", name).trim();
        if (!state.equals("running") && !state.equals("created")) {
          throw new IllegalStateException(name + " is " + state + ": " + engines[host].docker("logs", name));
        }
        return false;
      }
    });
    return address + ":" + port;
  }

  private static DockerEngine engineOf(String name) {
    return engines[Map.of("shop-1", 0, "shop-2", 1, "shop-3", 1, "shop-4", 2).get(name)];
  }

  private static void healthy(String name) {
    engineOf(name).docker("exec", name, "sh", "-c", ">/tmp/ok");
  }

  private static void unhealthy(String name) {
    engineOf(name).docker("exec", name, "rm", "-f", "/tmp/ok");
  }

  private static int port() {
    return nginx.port();
  }

  private static Map<String, Long> counts(List<Answer> answers) {
    return answers.stream().collect(Collectors.groupingBy(Answer::who, Collectors.counting()));
  }

  /** Every worker sends shop's requests to all four containers. */
  private static void awaitAllFour() {
    String eligible = SHOP.stream().map(name -> "\"" + addressOf.get(name) + " " + name + "\"")
        .collect(Collectors.joining(","));
    BalancerStatus.awaitEveryWorkerSees(port(), "/dockhealth", "\"shop\":{\"eligible\":[" + eligible + "]");
  }

  @Test
  @Order(1)
  void spreadsEvenlyOverTheHealthyContainersOfAllHosts_eachAtItsHostsAddress() {
    awaitAllFour();
    List<Answer> answers;
    try (Load load = Load.start(port(), "/o/shop/", 4)) {
      await().atMost(AWAIT).until(() -> load.answers().size() >= 800);
      answers = load.stop();
    }
    Map<String, Long> counts = counts(answers);
    System.out.printf("cluster: %d requests from 4 clients: %s%n", answers.size(), counts);
    assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(SHOP);
    // Each worker goes round the four containers in turn: whatever share of the requests a worker
    // took, each container got a quarter of it, give or take one.
    double quarter = answers.size() / 4.0;
    for (String name : SHOP) {
      assertThat((double) counts.get(name)).as("%s's share of %s", name, counts).isBetween(quarter - 3, quarter + 3);
    }
    // Each at its host's address, though every sidecar says 127.0.0.1.
    for (Answer a : answers) {
      assertThat(a.upstreams()).as("%s", a).containsExactly(addressOf.get(a.who()));
    }
  }

  @Test
  @Order(2)
  void anUnhealthyContainer_isDroppedWithinASecond_underLoad_andTakenBackWhenItRecovers() {
    awaitAllFour();
    List<Answer> answers;
    long unhealthyAt;
    try (DockerEvents events = DockerEvents.follow(engines[1]); Load load = Load.start(port(), "/o/shop/", 4)) {
      unhealthy("shop-3");
      unhealthyAt = events.timeOf("shop-3", "health_status: unhealthy");
      await().atMost(AWAIT).until(() -> load.answers().stream().anyMatch(a -> a.sentAt() > unhealthyAt + 3000));
      answers = load.stop();
    }
    long lastToIt = answers.stream().filter(a -> a.who().equals("shop-3")).mapToLong(Answer::receivedAt).max()
        .orElseThrow();
    // The last answer from shop-3 came at most this long after Docker's event: nginx picked it
    // before it answered.
    System.out.printf("cluster: shop-3 dropped at most %d ms after Docker's unhealthy event, under load from"
        + " 4 clients (%d requests)%n", lastToIt - unhealthyAt, answers.size());
    assertThat(lastToIt - unhealthyAt).as("ms from Docker's health_status: unhealthy to the last answer from it")
        .isLessThan(1000);
    assertThat(answers).allMatch(a -> a.status() == 200);

    List<Answer> after = answers.stream().filter(a -> a.sentAt() > unhealthyAt + 1000).toList();
    Map<String, Long> counts = counts(after);
    System.out.printf("cluster: after the drop, %s%n", counts);
    assertThat(counts.keySet()).containsExactlyInAnyOrder("shop-1", "shop-2", "shop-4");
    double third = after.size() / 3.0;
    counts.forEach((name, n) -> assertThat((double) n).as("%s's share of %s", name, counts)
        .isBetween(third - 3, third + 3));

    healthy("shop-3");
    awaitAllFour();
  }

  @Test
  @Order(3)
  void aSidecarKilled_onlyItsHostsContainersGoStale_afterStaleAfter() {
    awaitAllFour();
    List<Answer> answers;
    long killedAt;
    try (Load load = Load.start(port(), "/o/shop/", 4)) {
      killedAt = System.currentTimeMillis();
      sidecars[2].kill();
      await().atMost(AWAIT).until(() -> load.answers().stream()
          .anyMatch(a -> a.sentAt() > killedAt + STALE_AFTER_MS + 2000));
      answers = load.stop();
    }
    assertThat(answers).allMatch(a -> a.status() == 200);
    Function<Long, List<String>> receivedBefore = t -> Traffic.who(
        answers.stream().filter(a -> a.receivedAt() > killedAt + 1000 && a.receivedAt() < t).toList());
    assertThat(receivedBefore.apply(killedAt + STALE_AFTER_MS)).as("shop-4 while its host's last view counts")
        .contains("shop-4");
    long lastToIt = answers.stream().filter(a -> a.who().equals("shop-4")).mapToLong(Answer::receivedAt).max()
        .orElseThrow();
    System.out.printf("cluster: host 3's sidecar killed; shop-4's last answer %d ms later (stale_after %d ms)%n",
        lastToIt - killedAt, STALE_AFTER_MS);
    assertThat(lastToIt - killedAt).isLessThan(STALE_AFTER_MS + 1500);
    List<String> late = Traffic.who(answers.stream().filter(a -> a.sentAt() > killedAt + STALE_AFTER_MS + 1500)
        .toList());
    assertThat(late).as("the other hosts' containers, still trusted").isNotEmpty()
        .containsOnly("shop-1", "shop-2", "shop-3").contains("shop-1", "shop-2", "shop-3");
    assertThat(Http.get(port(), "/dockhealth").body()).contains("\"peer_host\":\"127.0.0.3\"");

    sidecars[2].start();
    awaitAllFour();
  }
}
