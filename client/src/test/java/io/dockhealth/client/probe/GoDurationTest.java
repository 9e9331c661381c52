package io.dockhealth.client.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Go's time.ParseDuration and Duration.String(), as grpc_health_probe's flags and messages use them. */
class GoDurationTest {
  @ParameterizedTest
  @CsvSource({
      "0, 0",
      "1s, 1000000000",
      "250ms, 250000000",
      "1.5s, 1500000000",
      "-1.5s, -1500000000",
      "+3s, 3000000000",
      "2h45m, 9900000000000",
      "1h2m3s4ms5us6ns, 3723004005006",
      "100\u00b5s, 100000",
      "100\u03bcs, 100000",
      ".5s, 500000000",
      "5.s, 5000000000",
      "1.0000000009s, 1000000000",
      "0s, 0",
  })
  void parse_goSyntax(String text, long nanos) {
    assertThat(GoDuration.parse(text)).isEqualTo(Duration.ofNanos(nanos));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1", "s", "1x", "1.2.3s", ".s", "-", "1s2", "3000000h", "\u0661s"})
  void parse_notGoSyntax_refused(String text) {
    assertThatThrownBy(() -> GoDuration.parse(text)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("time: ");
  }

  @ParameterizedTest
  @CsvSource({
      "0, 0s",
      "1, 1ns",
      "999, 999ns",
      "1500, 1.5\u00b5s",
      "1000000, 1ms",
      "153646593, 153.646593ms",
      "1000000000, 1s",
      "1500000000, 1.5s",
      "60000000000, 1m0s",
      "90000000000, 1m30s",
      "3600000000000, 1h0m0s",
      "3723004005006, 1h2m3.004005006s",
      "-1000000000, -1s",
      "-250000000, -250ms",
  })
  void format_likeGo(long nanos, String text) {
    assertThat(GoDuration.format(Duration.ofNanos(nanos))).isEqualTo(text);
  }
}
