package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;

/**
 * One service name of the health protocol and its status.
 *
 * @param containerIds the containers behind the name; empty for the sidecar's own name ""
 */
public record ServiceEntry(String name, ServingStatus status, ImmutableList<String> containerIds) {
  public ServiceEntry {
    checkNotNull(name, "name");
    checkNotNull(status, "status");
    checkNotNull(containerIds, "containerIds");
  }
}
