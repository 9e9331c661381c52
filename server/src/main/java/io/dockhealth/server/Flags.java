package io.dockhealth.server;

import com.google.common.net.HostAndPort;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Parsers for flag values; each error says what it got and what it expects. Public for the HTTP
 * gateway, whose {@code wait} parameter takes durations written the same way.
 */
public final class Flags {
  private Flags() {}

  /** {@code host:port}, {@code [v6]:port}; port 0 picks a free port. */
  static final class Address implements ITypeConverter<InetSocketAddress> {
    private static final String EXPECTED = " (expected: host:port such as 127.0.0.1:4245 or [::1]:4245)";

    @Override
    public InetSocketAddress convert(String value) {
      HostAndPort parsed;
      try {
        parsed = HostAndPort.fromString(value.trim());
      } catch (IllegalArgumentException e) {
        // Guava's reason, such as "Port number out of range", then what we take.
        throw new TypeConversionException("'" + value + "': " + e.getMessage() + EXPECTED);
      }
      if (!parsed.hasPort() || parsed.getHost().isEmpty()) {
        throw new TypeConversionException("'" + value + "'" + EXPECTED);
      }
      InetSocketAddress address = new InetSocketAddress(parsed.getHost(), parsed.getPort());
      if (address.isUnresolved()) {
        throw new TypeConversionException(
            "'" + value + "': cannot resolve host '" + parsed.getHost() + "'" + EXPECTED);
      }
      return address;
    }
  }

  /** {@code unix:///path} or {@code tcp://host:port}, as DOCKER_HOST takes them. */
  static final class DockerHost implements ITypeConverter<URI> {
    @Override
    public URI convert(String value) {
      String expected = " (expected: unix:///path/to/docker.sock or tcp://host:port)";
      URI uri;
      try {
        uri = new URI(value.trim());
      } catch (URISyntaxException e) {
        throw new TypeConversionException("'" + value + "' is not a URI" + expected);
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme();
      switch (scheme) {
        case "unix" -> {
          if (uri.getPath() == null || uri.getPath().isEmpty() || uri.getAuthority() != null) {
            throw new TypeConversionException("'" + value + "' names no socket path" + expected);
          }
        }
        case "tcp" -> {
          if (uri.getHost() == null || uri.getPort() < 0) {
            throw new TypeConversionException("'" + value + "' names no host and port" + expected);
          }
        }
        default -> throw new TypeConversionException("'" + value + "' has scheme '" + scheme + "'" + expected);
      }
      return uri;
    }
  }

  /** {@code true} or {@code false}, in any case; picocli's own check names no expected value. */
  static final class Bool implements ITypeConverter<Boolean> {
    @Override
    public Boolean convert(String value) {
      return switch (value.trim().toLowerCase(Locale.ROOT)) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new TypeConversionException("'" + value + "' (expected: true or false)");
      };
    }
  }

  /**
   * A duration as Go and Docker write them ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h30m})
   * or in ISO-8601 ({@code PT30S}).
   */
  public static final class DurationValue implements ITypeConverter<Duration> {
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h)");

    @Override
    public Duration convert(String value) {
      String text = value.trim().toLowerCase(Locale.ROOT);
      if (text.startsWith("p")) {
        try {
          return nonNegative(Duration.parse(text.toUpperCase(Locale.ROOT)), value);
        } catch (DateTimeParseException e) {
          throw invalid(value);
        }
      }
      Matcher matcher = PART.matcher(text);
      Duration total = Duration.ZERO;
      int end = 0;
      try {
        while (matcher.find() && matcher.start() == end) {
          long amount = Long.parseLong(matcher.group(1));
          total = total.plus(switch (matcher.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            default -> Duration.ofHours(amount);
          });
          end = matcher.end();
        }
      } catch (NumberFormatException | ArithmeticException e) {
        // More digits than a long holds, or more time than a Duration does.
        throw invalid(value);
      }
      if (end == 0 || end != text.length()) {
        throw invalid(value);
      }
      return total;
    }

    private static Duration nonNegative(Duration duration, String value) {
      if (duration.isNegative()) {
        throw invalid(value);
      }
      return duration;
    }

    private static TypeConversionException invalid(String value) {
      return new TypeConversionException("'" + value + "' (expected: a duration such as 500ms, 30s, 5m or 1h30m)");
    }
  }
}
