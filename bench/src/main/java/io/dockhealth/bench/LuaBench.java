package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import io.dockhealth.testing.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Figure 5: the Lua balancer. One nginx (1 worker) with front ends to local backends (a second
 * nginx): a plain static upstream of two backends (round-robin), our module (lua-resty-dockhealth,
 * local topology, peers from the sidecar) over the same two, the old approach (a rewrite_by_lua that
 * asks every host's health endpoint on every request, then routes), and the cluster topology over
 * four backends reported by three sidecars (three "hosts") against a static upstream of the same
 * four. wrk drives each in turn, rotating, repeated.
 */
final class LuaBench {
  private static final double GOAL = 0.95;
  private static final double CPU_GOAL = 1.10;
  private static final String APP = "benchapp";
  private static final int THREADS = 1;
  private static final int CONNECTIONS = 16;

  private LuaBench() {}

  private record Target(String who, String label, String path, int backends) {}

  static Section run(Bench bench) {
    Section section = new Section("5. Lua balancer");
    Path lib = bench.artifact("lua/lib");
    if (!Files.isRegularFile(lib.resolve("resty/dockhealth.lua"))) {
      throw new IllegalStateException(lib + "/resty/dockhealth.lua is missing");
    }
    Duration duration = bench.time(Duration.ofSeconds(4), Duration.ofSeconds(1));
    Duration warmup = bench.time(Duration.ofSeconds(3), Duration.ofSeconds(1));
    int rounds = bench.count(5, 2);
    int b1 = Ports.free();
    int b2 = Ports.free();
    int b3 = Ports.free();
    int b4 = Ports.free();
    int front = Ports.free();
    Path backendsDir = bench.workDir().resolve("nginx-backends");
    Path frontDir = bench.workDir().resolve("nginx-front");
    try (JvmChild sidecar = JvmChild.start("fig5-sidecar", SubjectServer.class, bench.logs(),
        List.of("--names", "1000", "--app", APP, "--backends", b1 + "," + b2));
        JvmChild host2 = JvmChild.start("fig5-sidecar-host2", SubjectServer.class, bench.logs(),
            List.of("--names", "10", "--app", APP, "--backends", Integer.toString(b3)));
        JvmChild host3 = JvmChild.start("fig5-sidecar-host3", SubjectServer.class, bench.logs(),
            List.of("--names", "10", "--app", APP, "--backends", Integer.toString(b4)));
        Nginx backends = Nginx.start(backendsDir, backendsConf(b1, b2, b3, b4));
        Nginx nginx = Nginx.start(frontDir, frontConf(lib, front, List.of(b1, b2, b3, b4),
            List.of(sidecar.port("http"), host2.port("http"), host3.port("http"))))) {
      List<Target> targets = List.of(
          new Target("static", "nginx static upstream, round-robin", "/static/" + APP + "/", 2),
          new Target("ours", "nginx + lua-resty-dockhealth (local topology)", "/o/" + APP + "/", 2),
          new Target("floor", "the least a Lua balancer does, over the same two", "/f/" + APP + "/", 2),
          new Target("old", "old approach: rewrite_by_lua, one HTTP call per host per request", "/old/" + APP + "/", 2),
          new Target("static-4", "nginx static upstream of the cluster's four backends", "/static4/" + APP + "/", 4),
          new Target("cluster", "nginx + lua-resty-dockhealth (cluster topology)", "/c/" + APP + "/", 4));
      String base = "http://127.0.0.1:" + front;
      for (Target target : targets) {
        awaitBackends(base + target.path(), target.backends());
      }
      section.line("nginx %s with ngx_lua (Debian), `worker_processes 1`, five front ends in one server, to local"
          + " backends (a second nginx, 1 worker, `return 200`), with an upstream `keepalive 32` pool each:",
          nginx.version());
      section.line("");
      section.line("- static (baseline): `upstream { server 127.0.0.1:B1; server 127.0.0.1:B2; }`, round-robin;");
      section.line("- ours: `lua/lib` as shipped, `configure{topology = \"local\", sidecar = <the gateway>}`,"
          + " `access_by_lua` + `balancer_by_lua`; the peers come from the sidecar (figure 1's registry plus two"
          + " containers in service group `%s`, labelled `dockhealth.port` = B1 and B2), kept in a shared dict"
          + " by the module's timers (long-poll), so the request path does no I/O;", APP);
      section.line("- floor: the least any balancer of this shape does, without the module: an `access_by_lua` that"
          + " reads the service from the location's capture and hands it to the `balancer_by_lua` in `ngx.ctx`,"
          + " which sets the next of the same two backends, round-robin: the cost of entering Lua in two phases,"
          + " against which ours shows what its own code costs;");
      section.line("- old: `rewrite_by_lua` asks each of the 2 hosts' health endpoint (the sidecar's drop-in"
          + " `/container-healthcheck/apps/health/%s`, through `ngx.location.capture_multi`, both calls at once,"
          + " over a keepalive pool) on every request, then a `balancer_by_lua` sends it to one of the healthy"
          + " hosts, round-robin. It stands for container-healthcheck's way; with one machine both \"hosts\" ask"
          + " the same local sidecar;", APP);
      section.line("- static-4 (baseline of the cluster topology): `upstream { server 127.0.0.1:B1; ... B4; }`;");
      section.line("- cluster: `lua/lib` as shipped, `configure{topology = \"cluster\", hosts = {3 x {address ="
          + " \"127.0.0.1\", sidecar = ...}}}`, as deploy/nginx/front-cluster.conf has it (access, balancer and"
          + " the optional `log_by_lua` of the passive checks): three sidecars stand for three hosts, the one above"
          + " (B1, B2) and two more with one container of `%s` each (B3, B4), so the balancer goes round four"
          + " containers on three hosts.", APP);
      section.line("");
      section.line("wrk %d thread, %d keep-alive connections; %s warm-up per front end, then %d rounds of %s each,"
          + " the order rotating. Everything (wrk, both nginx, the sidecars) shares the 2 cores. CPU per request"
          + " per process comes from /proc (user+system) over each run.", THREADS, CONNECTIONS,
          CheckBench.secs(warmup), rounds, CheckBench.secs(duration));
      section.line("");
      for (Target target : targets) {
        Wrk.run(base + target.path(), THREADS, CONNECTIONS, warmup);
      }
      Map<String, List<Long>> groups = new LinkedHashMap<>();
      groups.put("front nginx", ProcessCpu.tree(nginx.pid()));
      groups.put("backends nginx", ProcessCpu.tree(backends.pid()));
      groups.put("sidecars", List.of(sidecar.pid(), host2.pid(), host3.pid()));
      Map<String, List<Wrk.Result>> results = new LinkedHashMap<>();
      Map<String, Map<String, List<Double>>> cpu = new LinkedHashMap<>();
      section.line("| round | front end | requests/s | p50 µs | p99 µs | non-2xx | µs CPU per request: front nginx / backends / sidecars |");
      section.line("|---|---|---|---|---|---|---|");
      for (int round = 1; round <= rounds; round++) {
        for (int i = 0; i < targets.size(); i++) {
          Target target = targets.get((i + round - 1) % targets.size());
          Map<String, Double> before = ProcessCpu.ticks(groups);
          Wrk.Result result = Wrk.run(base + target.path(), THREADS, CONNECTIONS, duration);
          Map<String, Double> after = ProcessCpu.ticks(groups);
          double requests = result.requestsPerSecond() * duration.toSeconds();
          List<String> perRequest = new ArrayList<>();
          for (String group : groups.keySet()) {
            double micros = (after.get(group) - before.get(group)) * 10_000 / requests;
            cpu.computeIfAbsent(target.who(), k -> new LinkedHashMap<>()).computeIfAbsent(group, k -> new ArrayList<>())
                .add(micros);
            perRequest.add(String.format(Locale.ROOT, "%.0f", micros));
          }
          results.computeIfAbsent(target.who(), k -> new ArrayList<>()).add(result);
          section.line("| %d | %s | %,.0f | %.0f | %.0f | %d | %s |", round, target.who(), result.requestsPerSecond(),
              result.p50Micros(), result.p99Micros(), result.non2xx(), String.join(" / ", perRequest));
        }
      }
      section.line("");
      addRows(section, results, cpu);
    }
    return section;
  }

  private static void addRows(Section section, Map<String, List<Wrk.Result>> results,
      Map<String, Map<String, List<Double>>> cpu) {
    Stats stat = Stats.of(results.get("static").stream().map(Wrk.Result::requestsPerSecond).toList());
    Stats ours = Stats.of(results.get("ours").stream().map(Wrk.Result::requestsPerSecond).toList());
    Stats old = Stats.of(results.get("old").stream().map(Wrk.Result::requestsPerSecond).toList());
    List<Double> vsStatic = new ArrayList<>();
    List<Double> vsOld = new ArrayList<>();
    for (int i = 0; i < results.get("ours").size(); i++) {
      vsStatic.add(results.get("ours").get(i).requestsPerSecond() / results.get("static").get(i).requestsPerSecond());
      vsOld.add(results.get("ours").get(i).requestsPerSecond() / results.get("old").get(i).requestsPerSecond());
    }
    Stats ratio = Stats.of(vsStatic);
    Stats factor = Stats.of(vsOld);
    boolean met = ratio.median() >= GOAL;
    section.row(new Row("5. Lua balancer requests/s, ours vs static upstream", ours.format(Stats.Unit.PER_SECOND),
        stat.format(Stats.Unit.PER_SECOND) + " (static round-robin)",
        String.format(Locale.ROOT, "%.2fx (per-round %.2f–%.2f; higher is better)", ratio.median(), ratio.min(), ratio.max()),
        ">= 0.95x", Row.met(met)));
    section.row(new Row("5. Lua balancer requests/s, ours vs the old approach", ours.format(Stats.Unit.PER_SECOND),
        old.format(Stats.Unit.PER_SECOND) + " (rewrite_by_lua, a call per host)",
        String.format(Locale.ROOT, "%.2fx (per-round %.2f–%.2f; higher is better)", factor.median(), factor.min(), factor.max()),
        "report the factor", "n/a"));
    List<Double> ourCpuRatio = new ArrayList<>();
    for (int i = 0; i < results.get("ours").size(); i++) {
      ourCpuRatio.add(cpu.get("ours").get("front nginx").get(i) / cpu.get("static").get("front nginx").get(i));
    }
    Stats ourCpu = Stats.of(ourCpuRatio);
    boolean ourCpuMet = ourCpu.median() <= CPU_GOAL;
    section.row(new Row("5. Lua balancer front nginx CPU per request, ours vs static upstream",
        Stats.of(cpu.get("ours").get("front nginx")).format(Stats.Unit.MICROS),
        Stats.of(cpu.get("static").get("front nginx")).format(Stats.Unit.MICROS) + " (static round-robin)",
        String.format(Locale.ROOT, "%.2fx (per-round %.2f–%.2f; lower is better)", ourCpu.median(), ourCpu.min(),
            ourCpu.max()),
        "<= 1.10x", Row.met(ourCpuMet)));
    Stats ourP99 = Stats.of(results.get("ours").stream().map(Wrk.Result::p99Micros).toList());
    Stats statP99 = Stats.of(results.get("static").stream().map(Wrk.Result::p99Micros).toList());
    section.row(new Row("5. Lua balancer p99 latency, ours vs static", ourP99.format(Stats.Unit.MICROS),
        statP99.format(Stats.Unit.MICROS), String.format(Locale.ROOT, "%.2fx (lower is better)", ourP99.median() / statP99.median()),
        Row.NONE, "n/a"));
    List<Double> clusterVsStatic = new ArrayList<>();
    List<Double> clusterCpu = new ArrayList<>();
    List<Double> cpuRatio = new ArrayList<>();
    for (int i = 0; i < results.get("cluster").size(); i++) {
      clusterVsStatic.add(results.get("cluster").get(i).requestsPerSecond()
          / results.get("static-4").get(i).requestsPerSecond());
      double cluster = cpu.get("cluster").get("front nginx").get(i);
      clusterCpu.add(cluster);
      cpuRatio.add(cluster / cpu.get("static-4").get("front nginx").get(i));
    }
    Stats clusterRatio = Stats.of(clusterVsStatic);
    boolean clusterMet = clusterRatio.median() >= GOAL;
    section.row(new Row("5. Lua balancer requests/s, cluster topology (4 containers, 3 hosts) vs static upstream",
        Stats.of(results.get("cluster").stream().map(Wrk.Result::requestsPerSecond).toList()).format(Stats.Unit.PER_SECOND),
        Stats.of(results.get("static-4").stream().map(Wrk.Result::requestsPerSecond).toList()).format(Stats.Unit.PER_SECOND)
            + " (static, same 4)",
        String.format(Locale.ROOT, "%.2fx (per-round %.2f–%.2f; higher is better)", clusterRatio.median(),
            clusterRatio.min(), clusterRatio.max()),
        ">= 0.95x", Row.met(clusterMet)));
    Stats cpuStats = Stats.of(cpuRatio);
    boolean cpuMet = cpuStats.median() <= CPU_GOAL;
    section.row(new Row("5. Lua balancer front nginx CPU per request, cluster topology vs static upstream",
        Stats.of(clusterCpu).format(Stats.Unit.MICROS),
        Stats.of(cpu.get("static-4").get("front nginx")).format(Stats.Unit.MICROS) + " (static, same 4)",
        String.format(Locale.ROOT, "%.2fx (per-round %.2f–%.2f; lower is better)", cpuStats.median(), cpuStats.min(),
            cpuStats.max()),
        "<= 1.10x", Row.met(cpuMet)));
    StringBuilder profile = new StringBuilder();
    for (String who : List.of("static", "ours", "floor", "old", "static-4", "cluster")) {
      List<String> parts = new ArrayList<>();
      cpu.get(who).forEach((group, values) -> parts.add(String.format(Locale.ROOT, "%s %.0f µs", group, Stats.of(values).median())));
      profile.append("- ").append(who).append(": ").append(String.join(", ", parts)).append('\n');
    }
    section.line("CPU per request, median over rounds (the profile of this figure: nginx is not a JVM, so where the"
        + " time goes is shown per process):");
    section.line("");
    section.line(profile.toString());
    if (!clusterMet || !cpuMet) {
      section.line("**Goal missed** by the cluster topology: %s. The front nginx's CPU per request above is the"
          + " cost of its access_by_lua, balancer_by_lua and log_by_lua handlers over a plain upstream: the"
          + " floor below, with a third Lua phase (the passive checks' log_by_lua).",
          !clusterMet ? "under 0.95x the static upstream's requests/s" : "over 1.10x its CPU per request");
      section.line("");
    }
    if (!met || !ourCpuMet) {
      section.line("**Goal missed**: ours %s.", !met ? "under 0.95x the static upstream's requests/s"
          : "over 1.10x its front nginx CPU per request");
      section.line("");
      section.line("The floor: the front end of the same shape without the module (access_by_lua hands the service"
          + " to balancer_by_lua in ngx.ctx, which sets a round-robin peer) has %.2fx the static upstream's"
          + " requests/s and %.2fx its front nginx CPU per request (medians of per-round ratios); ours has"
          + " %.2fx the floor's requests/s and %.2fx its CPU per request. What ours costs over a plain upstream"
          + " is then mostly ngx_lua's own per-request work: a Lua coroutine for the access phase, the"
          + " `ngx.ctx` table that carries the choice to the balancer, the capture read through `ngx.var`,"
          + " and the balancer phase's call into Lua; with LuaJIT's `jit.v` on, the module's access and"
          + " balance functions and the picker compile to traces (no aborts on the request path). A 10%%"
          + " bound over a plain upstream is below that floor on these two cores.",
          ratio(results, cpu, "floor", "static", false), ratio(results, cpu, "floor", "static", true),
          ratio(results, cpu, "ours", "floor", false), ratio(results, cpu, "ours", "floor", true));
      section.line("");
    }
  }

  /** The median over rounds of a's requests/s (or front nginx CPU per request) over b's. */
  private static double ratio(Map<String, List<Wrk.Result>> results, Map<String, Map<String, List<Double>>> cpu,
      String a, String b, boolean perCpu) {
    List<Double> ratios = new ArrayList<>();
    for (int i = 0; i < results.get(a).size(); i++) {
      ratios.add(perCpu
          ? cpu.get(a).get("front nginx").get(i) / cpu.get(b).get("front nginx").get(i)
          : results.get(a).get(i).requestsPerSecond() / results.get(b).get(i).requestsPerSecond());
    }
    return Stats.of(ratios).median();
  }

  /** Waits until {@code url} has reached backends 1 to {@code n}, each at least once. */
  private static void awaitBackends(String url, int n) {
    HttpClient client = HttpClient.newHttpClient();
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    java.util.Set<String> seen = new java.util.TreeSet<>();
    String last = "";
    while (System.nanoTime() < deadline && seen.size() < n) {
      try {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        last = response.statusCode() + " " + response.body().trim();
        if (response.statusCode() == 200 && response.body().startsWith("backend ")) {
          seen.add(response.body().trim());
        } else {
          Proc.sleep(Duration.ofMillis(100));
        }
      } catch (IOException e) {
        last = e.toString();
        Proc.sleep(Duration.ofMillis(100));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    if (seen.size() < n) {
      throw new IllegalStateException(url + " did not reach " + n + " backends within 30 s (only " + seen
          + "); last answer: " + last);
    }
  }

  private static String backendsConf(int... ports) {
    StringBuilder servers = new StringBuilder();
    for (int i = 0; i < ports.length; i++) {
      servers.append("  server { listen 127.0.0.1:%d; location / { return 200 \"backend %d\\n\"; } }\n"
          .formatted(ports[i], i + 1));
    }
    return """
        worker_processes 1;
        pid nginx.pid;
        error_log logs/error.log warn;
        events { worker_connections 4096; }
        http {
          access_log off;
          keepalive_requests 1000000;
        %s}
        """.formatted(servers);
  }

  private static String frontConf(Path lib, int port, List<Integer> backends, List<Integer> sidecars) {
    int b1 = backends.get(0);
    int b2 = backends.get(1);
    int sidecarHttp = sidecars.get(0);
    StringBuilder static4 = new StringBuilder();
    for (int b : backends) {
      static4.append("            server 127.0.0.1:").append(b).append(";\n");
    }
    StringBuilder hosts = new StringBuilder();
    for (int s : sidecars) {
      hosts.append("                { address = \"127.0.0.1\", sidecar = \"127.0.0.1:").append(s).append("\" },\n");
    }
    return """
        load_module /usr/lib/nginx/modules/ndk_http_module.so;
        load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
        worker_processes 1;
        pid nginx.pid;
        error_log logs/error.log warn;
        events { worker_connections 4096; }
        http {
          access_log off;
          keepalive_requests 1000000;
          lua_package_path "%1$s/?.lua;/usr/share/lua/5.1/?.lua;;";
          lua_shared_dict dockhealth 10m;
          init_by_lua_block {
            -- The floor front end's round-robin state.
            package.loaded["bench.floor"] = { turn = 0, ports = { %3$d, %4$d } }
            require("resty.dockhealth").configure({
              name = "apps", shared_dict = "dockhealth", topology = "local", sidecar = "127.0.0.1:%5$d",
            })
            require("resty.dockhealth").configure({
              name = "cluster", shared_dict = "dockhealth", topology = "cluster", hosts = {
        %6$s      },
            })
          }
          init_worker_by_lua_block { require("resty.dockhealth").init_worker() }

          upstream static_backends {
            server 127.0.0.1:%3$d;
            server 127.0.0.1:%4$d;
            keepalive 32;
          }
          upstream floor_backends {
            server 0.0.0.1;
            balancer_by_lua_block {
              if not ngx.ctx.floor then return ngx.exit(500) end
              local floor = require("bench.floor")
              floor.turn = floor.turn %% 2 + 1
              local ok, err = require("ngx.balancer").set_current_peer("127.0.0.1", floor.ports[floor.turn])
              if not ok then ngx.log(ngx.ERR, "floor: ", err) return ngx.exit(500) end
            }
            keepalive 32;
          }
          upstream static_cluster {
        %7$s    keepalive 32;
          }
          upstream dockhealth_apps {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("apps") }
            keepalive 32;
          }
          upstream dockhealth_cluster {
            server 0.0.0.1;
            balancer_by_lua_block { require("resty.dockhealth").balance("cluster") }
            keepalive 32;
          }
          upstream old_backends {
            server 0.0.0.1;
            balancer_by_lua_block {
              local ok, err = require("ngx.balancer").set_current_peer(ngx.ctx.old_host, ngx.ctx.old_port)
              if not ok then ngx.log(ngx.ERR, "old: ", err) return ngx.exit(500) end
            }
            keepalive 32;
          }
          upstream old_sidecar {
            server 127.0.0.1:%5$d;
            keepalive 32;
          }

          server {
            listen 127.0.0.1:%2$d;
            proxy_http_version 1.1;
            proxy_set_header Connection "";

            location /static/ { proxy_pass http://static_backends; }
            location /static4/ { proxy_pass http://static_cluster; }

            location ~ ^/f/([^/]+)/ {
              access_by_lua_block { ngx.ctx.floor = ngx.var[1] }
              proxy_pass http://floor_backends;
            }

            location ~ ^/o/([^/]+)/ {
              access_by_lua_block { require("resty.dockhealth").access("apps", ngx.var[1]) }
              proxy_pass http://dockhealth_apps;
            }

            location ~ ^/c/([^/]+)/ {
              access_by_lua_block { require("resty.dockhealth").access("cluster", ngx.var[1]) }
              proxy_pass http://dockhealth_cluster;
              log_by_lua_block { require("resty.dockhealth").log("cluster") }
            }

            # The old way: every request asks every host whether the app is healthy there.
            location ~ ^/old/([^/]+)/ {
              rewrite_by_lua_block {
                local hosts = { { "127.0.0.1", %3$d }, { "127.0.0.1", %4$d } }
                local app = ngx.var[1]
                local reqs = {}
                for i = 1, #hosts do reqs[i] = { "/_old_check/" .. app } end
                local answers = { ngx.location.capture_multi(reqs) }
                local healthy = {}
                for i, res in ipairs(answers) do
                  if res.status == 200 then healthy[#healthy + 1] = hosts[i] end
                end
                if #healthy == 0 then return ngx.exit(503) end
                local n = (ngx.shared.dockhealth:incr("old:rr", 1, 0)) or 1
                local pick = healthy[(n %% #healthy) + 1]
                ngx.ctx.old_host, ngx.ctx.old_port = pick[1], pick[2]
              }
              proxy_pass http://old_backends;
            }
            location ~ ^/_old_check/(.+)$ {
              internal;
              # The gateway answers only the Host names it serves (DNS rebinding), not the upstream's name.
              proxy_set_header Host 127.0.0.1;
              proxy_pass http://old_sidecar/container-healthcheck/apps/health/$1;
            }
          }
        }
        """.formatted(lib, port, b1, b2, sidecarHttp, hosts, static4);
  }

  /** An nginx of the bench: its own prefix directory and config, started in the foreground. */
  static final class Nginx implements AutoCloseable {
    private final Process process;

    private Nginx(Process process) {
      this.process = process;
    }

    static Nginx start(Path dir, String conf) {
      try {
        Files.createDirectories(dir.resolve("logs"));
        Files.writeString(dir.resolve("nginx.conf"), conf, StandardCharsets.UTF_8);
        Command test = Command.run(List.of("nginx", "-t", "-q", "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString()),
            Duration.ofSeconds(30));
        if (test.exitCode() != 0) {
          throw new IllegalStateException("nginx -t failed for " + dir + ": " + test.stderr().trim());
        }
        Process process = new ProcessBuilder("nginx", "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString(),
            "-g", "daemon off;")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("logs/stdout.log").toFile()))
            .start();
        Proc.sleep(Duration.ofMillis(300));
        if (!process.isAlive()) {
          throw new IllegalStateException("nginx in " + dir + " exited with " + process.exitValue()
              + "; see " + dir.resolve("logs"));
        }
        return new Nginx(process);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    long pid() {
      return process.pid();
    }

    String version() {
      String v = Command.run(List.of("nginx", "-v"), Duration.ofSeconds(10)).stderr().trim();
      return v.substring(v.indexOf('/') + 1);
    }

    @Override
    public void close() {
      // SIGTERM is nginx's fast shutdown; the master stops its workers.
      Proc.stop(process, Duration.ofSeconds(10));
    }
  }
}
