package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

/**
 * A port a container exposes and, if it is published, where on the host.
 *
 * @param hostIp empty when not published
 * @param hostPort 0 when not published
 */
public record PortMapping(int privatePort, String protocol, String hostIp, int hostPort) {
  public PortMapping {
    checkArgument(privatePort > 0 && privatePort <= 65535, "privatePort: %s (expected: 1-65535)", privatePort);
    checkArgument(hostPort >= 0 && hostPort <= 65535, "hostPort: %s (expected: 0-65535)", hostPort);
    checkNotNull(protocol, "protocol");
    checkNotNull(hostIp, "hostIp");
  }
}
