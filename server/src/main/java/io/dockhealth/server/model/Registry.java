package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableListMultimap;
import com.google.common.collect.ImmutableMap;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Clock;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live model: containers as the Docker side last saw them, and the service statuses derived
 * from them, published as immutable {@link Snapshot}s.
 *
 * <p>Only the Docker side writes (through {@link ContainerModel}); front ends read {@link #current()}
 * without locking and subscribe with {@link #addListener}. A new version is published, and listeners
 * told, only when something would read differently.
 *
 * <pre>{@code
 * Registry registry = new Registry(Clock.systemUTC());
 * registry.addListener((previous, current) -> ...);
 * registry.current().status("web-1");   // Optional[SERVING]
 * }</pre>
 */
public final class Registry implements ContainerModel {
  private static final Logger logger = LoggerFactory.getLogger(Registry.class);

  private final Clock clock;
  private final List<SnapshotListener> listeners = new CopyOnWriteArrayList<>();

  private final Object writeLock = new Object();

  @GuardedBy("writeLock")
  private final Map<String, ContainerRecord> containers = new HashMap<>();

  @GuardedBy("writeLock")
  private boolean inSync;

  @GuardedBy("writeLock")
  private boolean terminal;

  private volatile Snapshot current;

  public Registry(Clock clock) {
    this.clock = checkNotNull(clock, "clock");
    synchronized (writeLock) {
      current = build(0);
    }
  }

  /** The newest snapshot. Never blocks. */
  public Snapshot current() {
    return current;
  }

  /** Tells {@code listener} about every snapshot published from now on. */
  public void addListener(SnapshotListener listener) {
    listeners.add(checkNotNull(listener, "listener"));
  }

  public void removeListener(SnapshotListener listener) {
    listeners.remove(listener);
  }

  @Override
  public Optional<ContainerRecord> get(String id) {
    return Optional.ofNullable(current.containers().get(id));
  }

  @Override
  public void replaceAll(Collection<ContainerRecord> fresh) {
    synchronized (writeLock) {
      containers.clear();
      for (ContainerRecord container : fresh) {
        containers.put(container.id(), container);
      }
      inSync = true;
      publish();
    }
  }

  @Override
  public void put(ContainerRecord container) {
    checkNotNull(container, "container");
    synchronized (writeLock) {
      containers.put(container.id(), container);
      publish();
    }
  }

  @Override
  public void remove(String id) {
    synchronized (writeLock) {
      if (containers.remove(id) != null) {
        publish();
      }
    }
  }

  @Override
  public void dockerDisconnected() {
    synchronized (writeLock) {
      inSync = false;
      publish();
    }
  }

  /**
   * Shutting down: every name becomes NOT_SERVING for good, so that balancers drain this host
   * before the server stops. Later writes are ignored.
   */
  public void enterTerminalState() {
    synchronized (writeLock) {
      terminal = true;
      publish();
    }
  }

  @GuardedBy("writeLock")
  private void publish() {
    Snapshot previous = current;
    Snapshot next = build(previous.version() + 1);
    if (previous.terminal() || next.sameContentAs(previous)) {
      return;
    }
    current = next;
    if (logger.isDebugEnabled()) {
      logTransitions(previous, next);
    }
    for (SnapshotListener listener : listeners) {
      try {
        listener.onSnapshot(previous, next);
      } catch (Throwable t) {
        // One broken front end must not stop the others from hearing about changes.
        logger.error("snapshot listener {} failed on version {}; it stays subscribed", listener, next.version(), t);
      }
    }
  }

  @GuardedBy("writeLock")
  private Snapshot build(long version) {
    ImmutableMap<String, ContainerRecord> byId = ImmutableMap.copyOf(containers);
    // Names are claimed in Docker's own order of precedence for a reference: full ID, then
    // name, then short ID. Containers are visited in ID order so collisions resolve the same
    // way every time.
    List<ContainerRecord> ordered =
        byId.values().stream().sorted(Comparator.comparing(ContainerRecord::id)).toList();
    Map<String, ServiceEntry> services = new LinkedHashMap<>();
    services.put(Snapshot.SIDECAR, new ServiceEntry(Snapshot.SIDECAR,
        inSync && !terminal ? ServingStatus.SERVING : ServingStatus.NOT_SERVING, ImmutableList.of()));
    ImmutableListMultimap.Builder<String, String> namesByContainer = ImmutableListMultimap.builder();
    for (MembershipRule rule : MembershipRule.values()) {
      for (ContainerRecord container : ordered) {
        String name = rule.nameOf(container);
        if (!services.containsKey(name)) {
          ServingStatus status =
              terminal ? ServingStatus.NOT_SERVING : ServingRules.servingStatus(container);
          services.put(name, new ServiceEntry(name, status, ImmutableList.of(new Member(container.id(), rule))));
          namesByContainer.put(container.id(), name);
        }
      }
    }
    return new Snapshot(version, clock.instant(), inSync, terminal, byId,
        ImmutableMap.copyOf(services), namesByContainer.build());
  }

  private static void logTransitions(Snapshot previous, Snapshot next) {
    for (ServiceEntry entry : next.services().values()) {
      ServiceEntry before = previous.services().get(entry.name());
      if (before == null || before.status() != entry.status()) {
        logger.debug("service \"{}\": {} -> {}", entry.name(),
            before == null ? "unknown" : before.status(), entry.status());
      }
    }
    for (String name : previous.services().keySet()) {
      if (!next.services().containsKey(name)) {
        logger.debug("service \"{}\": {} -> unknown", name, previous.services().get(name).status());
      }
    }
  }

  @Override
  public String toString() {
    Snapshot snapshot = current;
    return "Registry{version=" + snapshot.version() + ", containers=" + snapshot.containers().size()
        + ", inSync=" + snapshot.inSync() + "}";
  }
}
