package io.dockhealth.lua.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.regex.Pattern;

/** What the balancer's status handler ({@code require("resty.dockhealth").status()}) shows. */
public final class BalancerStatus {
  private BalancerStatus() {}

  /**
   * Waits (up to 30 s) until {@code fragment} is in the view of every worker of every instance that
   * the status handler at {@code path} shows: every worker has rebuilt its view from the same
   * snapshots, so a test's next requests meet the same peers whichever worker takes them.
   */
  public static void awaitEveryWorkerSees(int port, String path, String fragment) {
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      String status = Http.get(port, path).body();
      assertThat(count(status, fragment)).as("views with %s in %s", fragment, status)
          .isEqualTo(count(status, "\"view\":{"));
    });
  }

  private static int count(String text, String fragment) {
    return text.split(Pattern.quote(fragment), -1).length - 1;
  }
}
