package io.dockhealth.server.model;

import java.util.Locale;
import java.util.Optional;

/** How a group's status follows its members'. */
public enum GroupPolicy {
  /** SERVING while at least one member is SERVING: the balancer has somewhere to send traffic. */
  ANY,
  /** SERVING only while every member is SERVING. */
  ALL;

  /** {@code any} or {@code all}, in any case; empty for anything else. */
  public static Optional<GroupPolicy> parse(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "any" -> Optional.of(ANY);
      case "all" -> Optional.of(ALL);
      default -> Optional.empty();
    };
  }
}
