package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Where a front end listens: a TCP address, or a unix domain socket, a file whose mode says who
 * may connect.
 */
public sealed interface ListenAddress {
  /** What {@link #parse} takes, for messages. */
  String EXPECTED = "host:port such as 127.0.0.1:4245 or [::1]:4245, or unix:///absolute/path.sock";

  /**
   * The longest socket path, in bytes: Linux has 108 bytes for it, the last a NUL, and the socket
   * is made beside its path under a name 4 bytes longer (see {@link UnixSocketFile}).
   */
  int MAX_UNIX_PATH_BYTES = 103;

  /** A TCP address; port 0 takes a free port. */
  record Tcp(InetSocketAddress address) implements ListenAddress {
    public Tcp {
      checkNotNull(address, "address");
      checkArgument(!address.isUnresolved(), "address: %s (expected: resolved)", address);
    }

    /** {@code 127.0.0.1:4245}, {@code [::1]:4245}. */
    @Override
    public String toString() {
      return HostAndPort.fromParts(InetAddresses.toAddrString(address.getAddress()), address.getPort()).toString();
    }
  }

  /** A unix domain socket at an absolute path. */
  record Unix(Path path) implements ListenAddress {
    public Unix {
      checkNotNull(path, "path");
      checkArgument(path.isAbsolute() && path.getFileName() != null, "path: %s (expected: absolute, a file)", path);
    }

    /** {@code unix:///run/dockhealth/grpc.sock}, as the flags take it and clients dial it. */
    @Override
    public String toString() {
      return "unix://" + path;
    }
  }

  /**
   * Parses {@code host:port}, {@code [v6]:port} or {@code unix:///path}.
   *
   * @throws IllegalArgumentException saying what was wrong and what is expected
   */
  static ListenAddress parse(String value) {
    String text = value.trim();
    if (text.startsWith("unix:")) {
      return unix(value, text.substring("unix:".length()));
    }
    HostAndPort parsed;
    try {
      parsed = HostAndPort.fromString(text);
    } catch (IllegalArgumentException e) {
      // Guava's reason, such as "Port number out of range", then what we take.
      throw invalid(value, e.getMessage());
    }
    if (!parsed.hasPort() || parsed.getHost().isEmpty()) {
      throw invalid(value, null);
    }
    InetSocketAddress address = new InetSocketAddress(parsed.getHost(), parsed.getPort());
    if (address.isUnresolved()) {
      throw invalid(value, "cannot resolve host '" + parsed.getHost() + "'");
    }
    return new Tcp(address);
  }

  private static Unix unix(String value, String rest) {
    // unix:///path (an empty authority) or unix:/path; a host in between has no meaning here.
    String path = rest.startsWith("//") ? rest.substring(2) : rest;
    if (!path.startsWith("/") || path.endsWith("/")) {
      throw invalid(value, "a unix socket needs an absolute file path");
    }
    int bytes = path.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > MAX_UNIX_PATH_BYTES) {
      throw invalid(value, "the socket path has " + bytes + " bytes, more than the " + MAX_UNIX_PATH_BYTES
          + " a unix socket address holds here");
    }
    try {
      return new Unix(Path.of(path).normalize());
    } catch (InvalidPathException e) {
      throw invalid(value, e.getReason());
    }
  }

  private static IllegalArgumentException invalid(String value, String reason) {
    return new IllegalArgumentException(
        "'" + value + "'" + (reason == null ? "" : ": " + reason) + " (expected: " + EXPECTED + ")");
  }
}
