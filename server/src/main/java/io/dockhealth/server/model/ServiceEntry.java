package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import java.util.Optional;

/**
 * One service name of the health protocol and its status.
 *
 * @param members the containers behind the name; empty for the sidecar's own name ""
 * @param policy how a group's status follows its members; empty for a name of one container
 */
public record ServiceEntry(
    String name, ServingStatus status, ImmutableList<Member> members, Optional<GroupPolicy> policy) {
  public ServiceEntry {
    checkNotNull(name, "name");
    checkNotNull(status, "status");
    checkNotNull(members, "members");
    checkNotNull(policy, "policy");
  }

  /** The full IDs of the members, in member order. */
  public ImmutableList<String> containerIds() {
    return members.stream().map(Member::containerId).collect(ImmutableList.toImmutableList());
  }
}
