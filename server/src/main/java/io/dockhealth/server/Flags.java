package io.dockhealth.server;

import com.google.common.net.HostAndPort;
import io.dockhealth.server.api.Durations;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parsers for flag values; each error says what it got and what it expects. */
final class Flags {
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

  /** A duration as {@link Durations} reads them, in the CLI's terms: a bad value is a conversion error. */
  static final class DurationValue implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
