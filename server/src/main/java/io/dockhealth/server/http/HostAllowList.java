package io.dockhealth.server.http;

import com.google.common.collect.ImmutableSet;
import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import io.dockhealth.server.net.ListenAddress;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import javax.annotation.Nullable;

/**
 * The {@code Host} names the gateway answers, against DNS rebinding: a web page whose name an
 * attacker points at 127.0.0.1 makes the browser send requests to the sidecar, but with the
 * attacker's name in {@code Host}. Always allowed: localhost, 127.0.0.1 and [::1], and the address
 * the gateway listens on (every address of the machine's interfaces when it listens on all). The
 * port does not matter, nor the case of a name. A request without {@code Host} (HTTP/1.0) comes
 * from no browser and is answered.
 */
final class HostAllowList {
  private static final String ANY = "*";

  private final boolean any;
  private final ImmutableSet<String> hosts;

  private HostAllowList(boolean any, ImmutableSet<String> hosts) {
    this.any = any;
    this.hosts = hosts;
  }

  /**
   * The loopback names, {@code listening}'s address (or the interfaces' for a wildcard), and {@code
   * extra}. A unix socket has no address to add: its clients (curl --unix-socket, nginx) send
   * {@code localhost}, and one that forwards other names is told of {@code extra}.
   */
  static HostAllowList of(List<String> extra, ListenAddress listening) {
    Set<String> hosts = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
    if (listening instanceof ListenAddress.Tcp tcp) {
      InetAddress address = tcp.address().getAddress();
      if (address.isAnyLocalAddress()) {
        hosts.addAll(interfaceAddresses());
      } else {
        hosts.add(normalize(address.getHostAddress()));
      }
    }
    for (String host : extra) {
      hosts.add(normalize(host));
    }
    return new HostAllowList(hosts.contains(ANY), ImmutableSet.copyOf(hosts));
  }

  /** What is wrong with a name given to allow, as what is expected; empty when it is fine. */
  static Optional<String> problem(String host) {
    if (host.equals(ANY)) {
      return Optional.empty();
    }
    try {
      HostAndPort parsed = HostAndPort.fromString(host);
      if (!parsed.hasPort() && !parsed.getHost().isEmpty()) {
        return Optional.empty();
      }
    } catch (IllegalArgumentException e) {
      // described below
    }
    return Optional.of("a host name or address without a port, such as sidecar.internal, 10.0.0.11 or [fd00::1]; or *");
  }

  /** Whether a request with this {@code Host} header (null when it has none) is answered. */
  boolean allows(@Nullable String hostHeader) {
    if (any || hostHeader == null) {
      return true;
    }
    try {
      return hosts.contains(normalize(HostAndPort.fromString(hostHeader.trim()).getHost()));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The names, for an error message. */
  String describe() {
    return any ? ANY : String.join(", ", hosts.stream().map(h -> h.contains(":") ? "[" + h + "]" : h).toList());
  }

  /** Lower case, without a final dot or IPv6 brackets, an IP address in its one canonical form. */
  private static String normalize(String host) {
    String name = host.trim().toLowerCase(Locale.ROOT);
    if (name.startsWith("[") && name.endsWith("]")) {
      name = name.substring(1, name.length() - 1);
    }
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    int scope = name.indexOf('%');
    String literal = scope >= 0 ? name.substring(0, scope) : name;
    return InetAddresses.isInetAddress(literal) ? InetAddresses.toAddrString(InetAddresses.forString(literal)) : name;
  }

  private static Set<String> interfaceAddresses() {
    Set<String> addresses = new LinkedHashSet<>();
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress address : Collections.list(nic.getInetAddresses())) {
          addresses.add(normalize(address.getHostAddress()));
        }
      }
    } catch (SocketException e) {
      // Without the list, only the loopback names and the names given are answered: safe, and
      // --http-allowed-hosts adds the rest.
    }
    return addresses;
  }
}
