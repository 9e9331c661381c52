package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which containers are shown, which service names each answers to, and how a status is derived:
 * everything an operator configures about naming and status.
 *
 * @param serviceLabel the label naming a container's group ({@code dockhealth.service})
 * @param namePattern a regex with a named group {@code service}, matched against whole container
 *     names; empty to form no groups from names
 * @param defaultPolicy the group policy where no member's {@code dockhealth.policy} label says
 *     otherwise
 * @param startingIsServing whether a running container whose HEALTHCHECK is still {@code starting}
 *     counts as SERVING, where its {@code dockhealth.starting-is-serving} label does not say
 * @param labeledOnly whether only containers labelled {@code dockhealth.enable=true} are shown
 */
public record ServiceRules(
    String serviceLabel,
    Optional<Pattern> namePattern,
    GroupPolicy defaultPolicy,
    boolean startingIsServing,
    boolean labeledOnly) {
  public static final String ENABLE_LABEL = "dockhealth.enable";
  public static final String POLICY_LABEL = "dockhealth.policy";
  public static final String STARTING_LABEL = "dockhealth.starting-is-serving";
  public static final String DEFAULT_SERVICE_LABEL = "dockhealth.service";
  public static final String COMPOSE_SERVICE_LABEL = "com.docker.compose.service";
  public static final String COMPOSE_PROJECT_LABEL = "com.docker.compose.project";
  public static final String SWARM_SERVICE_LABEL = "com.docker.swarm.service.name";

  /**
   * Maps {@code <app>-<digits>} to {@code <app>}: {@code bk_iam-1709878117} and {@code shop-web-2}
   * join {@code bk_iam} and {@code shop-web}.
   */
  public static final String DEFAULT_NAME_PATTERN = "^(?<service>.+)-[0-9]+$";

  public ServiceRules {
    checkArgument(serviceLabel != null && !serviceLabel.isBlank(), "serviceLabel is empty (expected: a label key)");
    checkNotNull(namePattern, "namePattern");
    namePattern.ifPresent(p -> checkArgument(p.pattern().contains("(?<service>"),
        "namePattern: %s (expected: a named group (?<service>...))", p.pattern()));
    checkNotNull(defaultPolicy, "defaultPolicy");
  }

  /** The rules a sidecar has when told nothing. */
  public static ServiceRules defaults() {
    return new ServiceRules(DEFAULT_SERVICE_LABEL, Optional.of(Pattern.compile(DEFAULT_NAME_PATTERN)),
        GroupPolicy.ANY, false, false);
  }

  /** Whether the container is shown at all; a hidden one is unknown everywhere. */
  public boolean exposes(ContainerRecord container) {
    return !labeledOnly || "true".equalsIgnoreCase(container.labels().get(ENABLE_LABEL));
  }

  /** The container's own serving status (the status table, with the starting option applied). */
  public ServingStatus servingStatus(ContainerRecord container) {
    if (container.health() == HealthStatus.STARTING && container.state() == ContainerState.RUNNING) {
      String label = container.labels().get(STARTING_LABEL);
      boolean serving = label == null ? startingIsServing : "true".equalsIgnoreCase(label);
      return serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    }
    return ServingRules.servingStatus(container);
  }

  /** The groups the container joins, each with the first rule (in precedence order) that put it there. */
  public Map<String, MembershipRule> groupsOf(ContainerRecord container) {
    Map<String, MembershipRule> groups = new LinkedHashMap<>();
    Map<String, String> labels = container.labels();
    addGroup(groups, labels.get(serviceLabel), MembershipRule.LABEL);
    String composeService = labels.get(COMPOSE_SERVICE_LABEL);
    addGroup(groups, composeService, MembershipRule.COMPOSE_SERVICE);
    String composeProject = labels.get(COMPOSE_PROJECT_LABEL);
    if (composeService != null && composeProject != null) {
      addGroup(groups, composeProject + "/" + composeService, MembershipRule.COMPOSE_PROJECT_SERVICE);
    }
    addGroup(groups, labels.get(SWARM_SERVICE_LABEL), MembershipRule.SWARM_SERVICE);
    namePattern.ifPresent(pattern -> {
      Matcher matcher = pattern.matcher(container.name());
      if (matcher.matches()) {
        addGroup(groups, matcher.group("service"), MembershipRule.NAME_PATTERN);
      }
    });
    return groups;
  }

  /** The policy the container's {@code dockhealth.policy} label asks for, if it is a valid one. */
  public Optional<GroupPolicy> policyOf(ContainerRecord container) {
    String label = container.labels().get(POLICY_LABEL);
    return label == null ? Optional.empty() : GroupPolicy.parse(label);
  }

  private static void addGroup(Map<String, MembershipRule> groups, String name, MembershipRule rule) {
    if (name != null && !name.isBlank()) {
      groups.putIfAbsent(name.trim(), rule);
    }
  }
}
