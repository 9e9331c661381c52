package io.dockhealth.client;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where a client connects, parsed from the same strings grpc_health_probe's {@code -addr} takes:
 * {@code host:port} (an empty host is this machine, as Go's dialer has it), {@code unix:///path} or
 * {@code unix:path}, or any other gRPC target URI such as {@code dns:///host:port}, which grpc's own
 * resolvers handle.
 */
sealed interface Target {
  /** A URI scheme followed by "//" or, for the unix scheme, by anything. */
  Pattern URI = Pattern.compile("^(?:[A-Za-z][A-Za-z0-9+.-]*://|unix:|unix-abstract:).*");

  /** The text the target was parsed from, as the user wrote it. */
  String text();

  /** A TCP address. The host is an IP literal, a name for DNS, or "" for this machine. */
  record Tcp(String text, String host, int port) implements Target {
    public Tcp {
      checkNotNull(text, "text");
      checkNotNull(host, "host");
      checkArgument(port >= 0 && port <= 65535, "port: %s (expected: 0-65535)", port);
    }

    /** Whether the host needs no name lookup: "" or an IP literal. */
    boolean isLiteral() {
      return host.isEmpty() || InetAddresses.isInetAddress(host);
    }

    /** The :authority to send: host:port as given, "localhost" for an empty host. */
    String authority() {
      return HostAndPort.fromParts(host.isEmpty() ? "localhost" : host, port).toString();
    }
  }

  /** A unix domain socket. */
  record Unix(String text, Path path) implements Target {
    public Unix {
      checkNotNull(text, "text");
      checkNotNull(path, "path");
    }
  }

  /** A gRPC target URI left to grpc's name resolvers, e.g. {@code dns:///web.internal:4245}. */
  record Uri(String text) implements Target {
    public Uri {
      checkNotNull(text, "text");
    }
  }

  /**
   * Parses an address.
   *
   * @throws IllegalArgumentException with the message Go's dialer gives for the same mistake, e.g.
   *     {@code address localhost: missing port in address}
   */
  static Target parse(String text) {
    checkNotNull(text, "text");
    checkArgument(!text.isEmpty(), "missing address");
    if (text.startsWith("unix-abstract:")) {
      // The JDK's unix sockets have no abstract namespace.
      throw new IllegalArgumentException("unix-abstract addresses are not supported: " + text);
    }
    if (text.startsWith("unix:")) {
      String rest = text.substring("unix:".length());
      if (rest.startsWith("//")) {
        // unix://authority/path has no meaning for a local socket; only an empty authority does.
        rest = rest.substring(2);
        checkArgument(rest.startsWith("/"), "unix target %s has an authority (expected: unix:///absolute/path)", text);
      }
      checkArgument(!rest.isEmpty(), "unix target %s has no path", text);
      return new Unix(text, Path.of(rest));
    }
    if (URI.matcher(text).matches()) {
      return new Uri(text);
    }
    HostAndPort hostAndPort;
    try {
      hostAndPort = HostAndPort.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("address " + text + ": " + e.getMessage(), e);
    }
    if (!hostAndPort.hasPort()) {
      throw new IllegalArgumentException("address " + text + ": missing port in address");
    }
    return new Tcp(text, hostAndPort.getHost(), hostAndPort.getPort());
  }
}
