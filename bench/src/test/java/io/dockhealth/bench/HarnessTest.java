package io.dockhealth.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.Test;

/** The harness's own arithmetic and parsing; the benchmarks themselves run only from bench/run. */
class HarnessTest {
  @Test
  void stats_oddAndEvenCounts_medianMinMaxAndSpread() {
    Stats odd = Stats.of(List.of(3.0, 1.0, 2.0));
    assertThat(odd.median()).isEqualTo(2.0);
    assertThat(odd.min()).isEqualTo(1.0);
    assertThat(odd.max()).isEqualTo(3.0);
    assertThat(odd.wide()).isTrue();
    assertThat(Stats.of(List.of(100.0, 104.0)).median()).isEqualTo(102.0);
    assertThat(Stats.of(List.of(100.0, 104.0)).wide()).isFalse();
    assertThat(Stats.quantile(List.of(5.0, 1.0, 4.0, 2.0, 3.0), 0.99)).isEqualTo(5.0);
  }

  @Test
  void wrkReport_parsed_rateLatenciesAndNon2xx() {
    String report = """
        Running 4s test @ http://127.0.0.1:4246/v1/health/web
          1 threads and 16 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency   512.00us  100.00us   3.00ms   90.00%
            Req/Sec    30.00k     1.00k   31.00k    80.00%
          Latency Distribution
             50%  480.00us
             75%  520.00us
             90%  600.00us
             99%    1.25ms
          120000 requests in 4.00s, 20.00MB read
          Non-2xx or 3xx responses: 7
        Requests/sec:  30000.50
        Transfer/sec:      5.00MB
        """;
    Wrk.Result result = Wrk.parse(report);
    assertThat(result.requestsPerSecond()).isEqualTo(30000.5);
    assertThat(result.p50Micros()).isEqualTo(480.0);
    assertThat(result.p99Micros()).isEqualTo(1250.0);
    assertThat(result.non2xx()).isEqualTo(7);
  }

  @Test
  void soakAccount_countsLostSpuriousAndOutOfOrderChanges() {
    ServingStatus s = ServingStatus.SERVING;
    ServingStatus n = ServingStatus.NOT_SERVING;

    assertThat(SoakWatch.Account.of(List.of(s, n, s, n), 3, n)).isEqualTo(new SoakWatch.Account(3, 3, 0, 0, 0));
    assertThat(SoakWatch.Account.of(List.of(s, n), 3, n)).isEqualTo(new SoakWatch.Account(3, 1, 2, 0, 0));
    assertThat(SoakWatch.Account.of(List.of(s, n, s, n, s), 2, s)).isEqualTo(new SoakWatch.Account(2, 4, 0, 2, 0));
    assertThat(SoakWatch.Account.of(List.of(s, n, n, s), 3, n)).isEqualTo(new SoakWatch.Account(3, 3, 0, 0, 2));
  }

  @Test
  void soakSection_replacesItsOwnBlockOnly_andIsKeptForTheFigures(@TempDir Path dir) throws Exception {
    Path results = dir.resolve("RESULTS.md");
    Files.writeString(results, "# dockhealth benchmarks\n\n## 1. Check\n\ntext\n");

    Soak.writeSection(results, "## Soak\n\nfirst\n");
    Soak.writeSection(results, "## Soak\n\nsecond\n");

    String text = Files.readString(results);
    assertThat(text).startsWith("# dockhealth benchmarks\n\n## 1. Check\n\ntext\n\n" + Soak.BEGIN)
        .contains("second").doesNotContain("first").endsWith(Soak.END + "\n");
    assertThat(Soak.section(results)).isEqualTo(Soak.BEGIN + "\n## Soak\n\nsecond\n" + Soak.END + "\n");
    assertThat(Soak.section(dir.resolve("none.md"))).isEmpty();
  }
}
