package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The flag value parsers: what they accept, and that every rejection says what was expected. */
class FlagsTest {
  // ----- Address -----

  @Test
  void address_ipv4HostAndPort_isThatAddress() {
    InetSocketAddress address = new Flags.Address().convert("127.0.0.1:4245");

    assertThat(address.isUnresolved()).isFalse();
    assertThat(address.getAddress()).isInstanceOf(Inet4Address.class);
    assertThat(address.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(address.getPort()).isEqualTo(4245);
  }

  @Test
  void address_bracketedIpv6WithPortZero_isLoopbackWithAnyPort() {
    InetSocketAddress address = new Flags.Address().convert("[::1]:0");

    assertThat(address.getAddress()).isInstanceOf(Inet6Address.class);
    assertThat(address.getAddress().isLoopbackAddress()).isTrue();
    assertThat(address.getPort()).isZero();
  }

  @Test
  void address_allInterfacesWithSurroundingSpace_isAccepted() {
    InetSocketAddress address = new Flags.Address().convert(" 0.0.0.0:4245 ");

    assertThat(address.getAddress().isAnyLocalAddress()).isTrue();
    assertThat(address.getPort()).isEqualTo(4245);
  }

  @ParameterizedTest
  @ValueSource(strings = {
    ":4245", // no host
    "foo", // no port
    "127.0.0.1", // no port
    "[::1]", // no port
    "127.0.0.1:70000", // port out of range
    "127.0.0.1:http", // port not a number
    "[::1:4245", // unclosed bracket
    "",
  })
  void address_notHostAndPort_isRejectedSayingWhatWasExpected(String value) {
    assertThatThrownBy(() -> new Flags.Address().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("expected");
  }

  // ----- DockerHost -----

  @ParameterizedTest
  @ValueSource(strings = {
    "unix:///var/run/docker.sock",
    "unix:///run/user/1000/docker.sock",
    "tcp://127.0.0.1:2375",
    "tcp://docker.internal:2376",
    "tcp://[::1]:2375",
  })
  void dockerHost_unixPathOrTcpHostAndPort_isAccepted(String value) {
    assertThat(new Flags.DockerHost().convert(value)).isEqualTo(URI.create(value));
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "http://x", // wrong scheme
    "https://127.0.0.1:2376", // wrong scheme
    "npipe:////./pipe/docker_engine", // Windows only
    "unix://", // no path
    "unix:", // no path
    "unix://var/run/docker.sock", // two slashes: "var" is read as a host
    "tcp://host", // no port
    "tcp://127.0.0.1", // no port
    "tcp://:2375", // no host
    "/var/run/docker.sock", // no scheme
    "",
  })
  void dockerHost_otherwise_isRejectedSayingWhatWasExpected(String value) {
    assertThatThrownBy(() -> new Flags.DockerHost().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("expected: unix:///path/to/docker.sock or tcp://host:port");
  }

  // ----- Bool -----

  @ParameterizedTest
  @CsvSource({"true, true", "TRUE, true", "' false ', false", "False, false"})
  void bool_trueOrFalseInAnyCase_isTaken(String value, boolean expected) {
    assertThat(new Flags.Bool().convert(value)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "yes", "on", ""})
  void bool_anythingElse_saysTrueOrFalseIsExpected(String value) {
    assertThatThrownBy(() -> new Flags.Bool().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessage("'" + value + "' (expected: true or false)");
  }

  // ----- DurationValue -----

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource({
    "500ms, PT0.5S",
    "30s, PT30S",
    "5m, PT5M",
    "1h30m, PT1H30M",
    "1h30m15s250ms, PT1H30M15.25S",
    "1m1ms, PT1M0.001S",
    "90s, PT1M30S",
    "PT30S, PT30S",
    "pt2m, PT2M",
    "0s, PT0S",
    "'  45s ', PT45S",
  })
  void durationValue_goOrIsoDuration_isThatDuration(String value, Duration expected) {
    assertThat(new Flags.DurationValue().convert(value)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "",
    "5", // no unit
    "5x", // unknown unit
    "-1s", // negative
    "1h-", // trailing garbage
    "s", // no number
    "1h 30m", // space inside
    "PT-30S", // negative ISO
    "P", // empty ISO
    "PT", // empty ISO
    "99999999999999999999s", // more than a long
    "9999999999999999h", // more than a Duration holds
  })
  void durationValue_otherwise_isRejectedSayingWhatWasExpected(String value) {
    assertThatThrownBy(() -> new Flags.DurationValue().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("expected: a duration such as 500ms, 30s, 5m or 1h30m");
  }
}
