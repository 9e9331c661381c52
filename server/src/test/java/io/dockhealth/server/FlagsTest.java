package io.dockhealth.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dockhealth.server.net.ListenAddress;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine.TypeConversionException;

/** The flag value parsers: what they accept, and that every rejection says what was expected. */
class FlagsTest {
  // ----- Address -----

  private static InetSocketAddress tcp(String value) {
    ListenAddress address = new Flags.Address().convert(value);
    assertThat(address).isInstanceOf(ListenAddress.Tcp.class);
    return ((ListenAddress.Tcp) address).address();
  }

  @ParameterizedTest
  @CsvSource({
    "unix:///run/dockhealth/grpc.sock, /run/dockhealth/grpc.sock",
    "unix:/run/dockhealth/http.sock,   /run/dockhealth/http.sock",
    "' unix:///tmp/a/../b.sock ',      /tmp/b.sock",
  })
  void address_unixSocket_isThatAbsolutePath(String value, String path) {
    assertThat(new Flags.Address().convert(value)).isEqualTo(new ListenAddress.Unix(Path.of(path)));
    assertThat(new Flags.Address().convert(value).toString()).isEqualTo("unix://" + path);
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "unix://", // no path
    "unix:relative.sock",
    "unix://host/path.sock", // an authority
    "unix:///run/dockhealth/", // a directory
  })
  void address_unixWithoutAbsoluteFile_isRejectedSayingWhatWasExpected(String value) {
    assertThatThrownBy(() -> new Flags.Address().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("a unix socket needs an absolute file path")
        .hasMessageContaining("expected: host:port");
  }

  @Test
  void address_unixPathLongerThanASocketAddressHolds_isRejected() {
    String value = "unix:///" + "d".repeat(ListenAddress.MAX_UNIX_PATH_BYTES);

    assertThatThrownBy(() -> new Flags.Address().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("104 bytes, more than the 103");
  }

  // ----- SocketMode -----

  @ParameterizedTest
  @CsvSource({
    "0660, rw-rw----",
    "600,  rw-------",
    "0777, rwxrwxrwx",
    "0000, ---------",
  })
  void socketMode_octal_isThosePermissions(String value, String permissions) {
    assertThat(new Flags.SocketMode().convert(value)).isEqualTo(PosixFilePermissions.fromString(permissions));
  }

  @ParameterizedTest
  @ValueSource(strings = {"rw-rw----", "0860", "66", "01660", "u+rw", ""})
  void socketMode_notOctal_isRejectedSayingWhatWasExpected(String value) {
    assertThatThrownBy(() -> new Flags.SocketMode().convert(value))
        .isInstanceOf(TypeConversionException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("expected: an octal file mode such as 0660");
  }

  @Test
  void address_ipv4HostAndPort_isThatAddress() {
    InetSocketAddress address = tcp("127.0.0.1:4245");

    assertThat(address.isUnresolved()).isFalse();
    assertThat(address.getAddress()).isInstanceOf(Inet4Address.class);
    assertThat(address.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
    assertThat(address.getPort()).isEqualTo(4245);
  }

  @Test
  void address_bracketedIpv6WithPortZero_isLoopbackWithAnyPort() {
    InetSocketAddress address = tcp("[::1]:0");

    assertThat(address.getAddress()).isInstanceOf(Inet6Address.class);
    assertThat(address.getAddress().isLoopbackAddress()).isTrue();
    assertThat(address.getPort()).isZero();
  }

  @Test
  void address_allInterfacesWithSurroundingSpace_isAccepted() {
    InetSocketAddress address = tcp(" 0.0.0.0:4245 ");

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
