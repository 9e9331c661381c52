package io.dockhealth.server;

import io.dockhealth.server.api.Durations;
import io.dockhealth.server.net.ListenAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Locale;
import java.util.EnumSet;
import java.util.Set;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Parsers for flag values; each error says what it got and what it expects. */
final class Flags {
  private Flags() {}

  /** {@code host:port}, {@code [v6]:port} (port 0 picks a free port) or {@code unix:///path}. */
  static final class Address implements ITypeConverter<ListenAddress> {
    @Override
    public ListenAddress convert(String value) {
      try {
        return ListenAddress.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** A file mode in octal, as chmod takes it: {@code 0660}, {@code 600}. */
  static final class SocketMode implements ITypeConverter<Set<PosixFilePermission>> {
    private static final Pattern OCTAL = Pattern.compile("0?[0-7]{3}");

    /** In the order of the mode's bits, from 0400 down to 0001. */
    private static final PosixFilePermission[] BITS = {
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE,
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE,
    };

    @Override
    public Set<PosixFilePermission> convert(String value) {
      String text = value.trim();
      if (!OCTAL.matcher(text).matches()) {
        throw new TypeConversionException("'" + value + "' (expected: an octal file mode such as 0660, owner and group"
            + " may connect, or 0600, the owner only)");
      }
      int mode = Integer.parseInt(text, 8);
      Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
      for (int bit = 0; bit < BITS.length; bit++) {
        if ((mode & (0400 >> bit)) != 0) {
          permissions.add(BITS[bit]);
        }
      }
      return permissions;
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
