package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

/** A container behind a service name, and the rule that put it there. */
public record Member(String containerId, MembershipRule rule) {
  public Member {
    checkNotNull(containerId, "containerId");
    checkNotNull(rule, "rule");
  }
}
