package io.dockhealth.bench;

import io.dockhealth.testing.Command;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs wrk (keep-alive HTTP/1.1 load) and reads its report. */
final class Wrk {
  private static final Pattern RATE = Pattern.compile("Requests/sec:\\s+([0-9.]+)");
  private static final Pattern PERCENTILE = Pattern.compile("^\\s+(50|75|90|99)%\\s+([0-9.]+)(us|ms|s)\\s*$", Pattern.MULTILINE);
  private static final Pattern NON_2XX = Pattern.compile("Non-2xx or 3xx responses:\\s+(\\d+)");
  private static final Pattern ERRORS = Pattern.compile("Socket errors:.*");

  /** Requests per second, p50 and p99 latency in microseconds, and what went wrong, if anything. */
  record Result(double requestsPerSecond, double p50Micros, double p99Micros, long non2xx, String errors) {}

  private Wrk() {}

  static Result run(String url, int threads, int connections, Duration duration) {
    Command run = Command.run(List.of("wrk", "-t" + threads, "-c" + connections, "-d" + duration.toSeconds() + "s",
        "--latency", url), duration.plusSeconds(30));
    return parse(run.orThrow());
  }

  static Result parse(String report) {
    Matcher rate = RATE.matcher(report);
    if (!rate.find()) {
      throw new IllegalStateException("no Requests/sec in wrk's report:\n" + report);
    }
    double p50 = Double.NaN;
    double p99 = Double.NaN;
    Matcher percentile = PERCENTILE.matcher(report);
    while (percentile.find()) {
      double value = Double.parseDouble(percentile.group(2)) * switch (percentile.group(3)) {
        case "us" -> 1;
        case "ms" -> 1000;
        default -> 1_000_000;
      };
      if (percentile.group(1).equals("50")) {
        p50 = value;
      } else if (percentile.group(1).equals("99")) {
        p99 = value;
      }
    }
    Matcher non2xx = NON_2XX.matcher(report);
    Matcher errors = ERRORS.matcher(report);
    return new Result(Double.parseDouble(rate.group(1)), p50, p99, non2xx.find() ? Long.parseLong(non2xx.group(1)) : 0,
        errors.find() ? errors.group().trim() : "");
  }
}
