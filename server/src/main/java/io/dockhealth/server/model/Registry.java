package io.dockhealth.server.model;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.annotations.VisibleForTesting;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableListMultimap;
import com.google.common.collect.ImmutableMap;
import com.google.common.collect.ImmutableSet;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live model: containers as the Docker side last saw them, and the service statuses derived
 * from them, published as immutable {@link Snapshot}s.
 *
 * <p>Only the Docker side writes (through {@link ContainerModel}); front ends read {@link #current()}
 * without locking and subscribe with {@link #addListener} (every new version) or {@link
 * #addHealthListener} (only versions whose health answers differ). A new version is published, and
 * listeners told, only when something would read differently. Most versions change a container's
 * detail alone (each HEALTHCHECK probe adds to its probe log): those wake no health listener, so a
 * Watch on a thousand names costs nothing while statuses stand still.
 *
 * <p>Three rules make transients harmless to balancers. While Docker cannot be reached, names keep
 * their last status for the stale grace, then turn NOT_SERVING. While Docker errs about one
 * container, that container alone is stale and gets the same grace. A removed container's names
 * stay, NOT_SERVING, for the forget-after period, so a redeploy never makes a name unknown.
 *
 * <p>On shutdown only {@code ""}, the sidecar itself, turns NOT_SERVING ({@link #enterShutdown}):
 * the sidecar is an oracle about other servers, which do not go down with it. Turning every name
 * NOT_SERVING ({@link #enterTerminalState}) is for hosts that are going down.
 *
 * <pre>{@code
 * Registry registry = new Registry(ServiceRules.defaults(), Duration.ofSeconds(30),
 *     Duration.ofSeconds(60), Clock.systemUTC(), timer);
 * registry.addListener((previous, current) -> ...);
 * registry.current().status("web-1");   // Optional[SERVING]
 * }</pre>
 */
public final class Registry implements ContainerModel {
  private static final Logger logger = LoggerFactory.getLogger(Registry.class);

  private final ServiceRules rules;
  private final Duration staleGrace;
  private final Duration forgetAfter;
  private final Clock clock;
  private final Timer timer;
  private final List<SnapshotListener> listeners = new CopyOnWriteArrayList<>();
  private final List<SnapshotListener> healthListeners = new CopyOnWriteArrayList<>();

  private final Object writeLock = new Object();

  @GuardedBy("writeLock")
  private final Map<String, ContainerRecord> containers = new HashMap<>();

  /** Containers Docker no longer has, with when they went, until forget-after has passed. */
  @GuardedBy("writeLock")
  private final Map<String, Removed> removed = new HashMap<>();

  /** Containers Docker erred about, with when they went stale, until Docker describes them again. */
  @GuardedBy("writeLock")
  private final Map<String, Instant> staleSince = new HashMap<>();

  @GuardedBy("writeLock")
  private boolean inSync;

  /** When the model went out of sync with Docker; null while in sync or before the first sync. */
  @GuardedBy("writeLock")
  private Instant disconnectedAt;

  /** Shutting down: "" is NOT_SERVING for good. */
  @GuardedBy("writeLock")
  private boolean shuttingDown;

  /** Shutting down with the host: every name is NOT_SERVING for good and writes are ignored. */
  @GuardedBy("writeLock")
  private boolean terminal;

  private volatile Snapshot current;

  private record Removed(ContainerRecord container, Instant at) {}

  public Registry(ServiceRules rules, Duration staleGrace, Duration forgetAfter, Clock clock, Timer timer) {
    this.rules = checkNotNull(rules, "rules");
    checkArgument(!staleGrace.isNegative(), "staleGrace: %s (expected: >= 0)", staleGrace);
    checkArgument(!forgetAfter.isNegative(), "forgetAfter: %s (expected: >= 0)", forgetAfter);
    this.staleGrace = staleGrace;
    this.forgetAfter = forgetAfter;
    this.clock = checkNotNull(clock, "clock");
    this.timer = checkNotNull(timer, "timer");
    synchronized (writeLock) {
      current = build(0);
    }
  }

  /** The newest snapshot. Never blocks. */
  public Snapshot current() {
    return current;
  }

  /** Tells {@code listener} about every snapshot published from now on, detail-only changes included. */
  public void addListener(SnapshotListener listener) {
    listeners.add(checkNotNull(listener, "listener"));
  }

  /**
   * Tells {@code listener} about the snapshots published from now on that answer some health
   * question differently from the one before ({@link Snapshot#sameHealthAs}): a name's status or
   * members, a name appearing or going, a container turning stale or fresh, the sync state. Such
   * listeners are told before those of {@link #addListener}, and {@code previous} is then the last
   * snapshot published, whether they were told about it or not.
   */
  public void addHealthListener(SnapshotListener listener) {
    healthListeners.add(checkNotNull(listener, "listener"));
  }

  /** Stops telling {@code listener}, however it was added. */
  public void removeListener(SnapshotListener listener) {
    listeners.remove(listener);
    healthListeners.remove(listener);
  }

  @Override
  public Optional<ContainerRecord> get(String id) {
    synchronized (writeLock) {
      return Optional.ofNullable(containers.get(id));
    }
  }

  @Override
  public void replaceAll(Collection<ContainerRecord> fresh, Set<String> stale) {
    checkNotNull(stale, "stale");
    synchronized (writeLock) {
      Map<String, ContainerRecord> gone = new HashMap<>(containers);
      containers.clear();
      for (ContainerRecord container : fresh) {
        if (rules.exposes(container)) {
          containers.put(container.id(), container);
          gone.remove(container.id());
          removed.remove(container.id());
        }
      }
      // Removed while we were not looking: they get the same grace as a removal we saw.
      gone.values().forEach(this::markRemoved);
      staleSince.keySet().retainAll(stale);
      staleSince.keySet().retainAll(containers.keySet());
      stale.forEach(this::startStale);
      inSync = true;
      disconnectedAt = null;
      publish();
    }
  }

  @Override
  public void put(ContainerRecord container) {
    put(container, true);
  }

  @Override
  public void putFromEvent(ContainerRecord container) {
    put(container, false);
  }

  private void put(ContainerRecord container, boolean described) {
    checkNotNull(container, "container");
    if (!rules.exposes(container)) {
      return;
    }
    synchronized (writeLock) {
      ContainerRecord before = containers.put(container.id(), container);
      boolean wasRemoved = removed.remove(container.id()) != null;
      boolean wasStale = described && staleSince.remove(container.id()) != null;
      if (before != null && !wasRemoved && !wasStale && canUpdateInPlace(before, container)) {
        publishOneChanged(before, container);
      } else {
        publish();
      }
    }
  }

  /**
   * Whether a new record of a live container can be published by updating the names it answers to
   * alone, rather than rebuilding every name: it answers to the same names and joins the same groups
   * (same name and labels), and no status rests on the clock (in sync, nothing stale, not shut down
   * with the host), so every other name reads as it did.
   */
  @GuardedBy("writeLock")
  private boolean canUpdateInPlace(ContainerRecord before, ContainerRecord after) {
    return inSync && staleSince.isEmpty() && !terminal
        && before.name().equals(after.name()) && before.labels().equals(after.labels());
  }

  /**
   * Publishes the current snapshot with one container's record replaced and the names it answers to
   * (its own and its groups') recomputed: what {@link #build} would give under {@link
   * #canUpdateInPlace}, at a cost that does not grow with the number of containers on the host but
   * for copying two maps.
   */
  @GuardedBy("writeLock")
  private void publishOneChanged(ContainerRecord before, ContainerRecord after) {
    Snapshot previous = current;
    if (!previous.containers().containsKey(after.id())) {
      publish(); // not published yet: only a rebuild shows it
      return;
    }
    if (previous.terminal() || before.equals(after)) {
      return;
    }
    Instant now = clock.instant();
    String id = after.id();
    Map<String, ServiceEntry> services = new LinkedHashMap<>(previous.services());
    boolean healthChanged = false;
    for (String name : previous.namesByContainer().get(id)) {
      ServiceEntry entry = services.get(name);
      ServingStatus status = entry.policy().isPresent()
          ? groupStatus(entry.members(), entry.policy().get(), member -> ownStatus(member, now))
          : ownStatus(id, now);
      if (status != entry.status()) {
        services.put(name, new ServiceEntry(name, status, entry.members(), entry.policy()));
        healthChanged = true;
      }
    }
    ImmutableMap.Builder<String, ContainerRecord> all = ImmutableMap.builderWithExpectedSize(previous.containers().size());
    previous.containers().forEach((key, record) -> all.put(key, key.equals(id) ? after : record));
    Snapshot next = new Snapshot(previous.version() + 1, now, previous.inSync(), previous.shuttingDown(),
        previous.terminal(), all.buildOrThrow(), previous.removed(), previous.staleContainers(),
        healthChanged ? ImmutableMap.copyOf(services) : previous.services(), previous.namesByContainer());
    tellAll(previous, next, healthChanged);
  }

  @Override
  public void markStale(String id) {
    synchronized (writeLock) {
      if (startStale(id)) {
        publish();
      }
    }
  }

  /** Marks a live container stale from now, unless it is already; true if that changed anything. */
  @GuardedBy("writeLock")
  private boolean startStale(String id) {
    if (!containers.containsKey(id) || staleSince.containsKey(id)) {
      return false;
    }
    staleSince.put(id, clock.instant());
    timer.schedule(staleGrace, this::timePassed);
    return true;
  }

  @Override
  public void remove(String id) {
    synchronized (writeLock) {
      ContainerRecord container = containers.remove(id);
      staleSince.remove(id);
      if (container != null) {
        markRemoved(container);
        publish();
      }
    }
  }

  @Override
  public void dockerDisconnected() {
    synchronized (writeLock) {
      if (inSync) {
        disconnectedAt = clock.instant();
        timer.schedule(staleGrace, this::timePassed);
      }
      inSync = false;
      publish();
    }
  }

  /**
   * Shutting down: {@code ""} becomes NOT_SERVING for good, so that whoever watches the sidecar
   * itself learns it is going; every other name keeps following Docker until the server stops,
   * since the containers behind them are not going anywhere.
   */
  public void enterShutdown() {
    synchronized (writeLock) {
      shuttingDown = true;
      publish();
    }
  }

  /**
   * Shutting down with the host: every name becomes NOT_SERVING for good, so that balancers drain
   * this host before the server stops. Later writes are ignored.
   */
  public void enterTerminalState() {
    synchronized (writeLock) {
      shuttingDown = true;
      terminal = true;
      publish();
    }
  }

  @GuardedBy("writeLock")
  private void markRemoved(ContainerRecord container) {
    removed.put(container.id(), new Removed(container, clock.instant()));
    timer.schedule(forgetAfter, this::timePassed);
  }

  /** A grace period may have ended: forget what is due and publish if that changes anything. */
  private void timePassed() {
    synchronized (writeLock) {
      Instant now = clock.instant();
      removed.values().removeIf(r -> !now.isBefore(r.at().plus(forgetAfter)));
      publish();
    }
  }

  @GuardedBy("writeLock")
  private void publish() {
    Snapshot previous = current;
    Snapshot next = build(previous.version() + 1);
    boolean healthChanged = !next.sameHealthAs(previous);
    if (previous.terminal() || !healthChanged && next.sameDetailAs(previous)) {
      return;
    }
    tellAll(previous, next, healthChanged);
  }

  /** Makes {@code next} current and tells the listeners: health listeners only if {@code healthChanged}. */
  @GuardedBy("writeLock")
  private void tellAll(Snapshot previous, Snapshot next, boolean healthChanged) {
    current = next;
    if (healthChanged) {
      if (logger.isDebugEnabled()) {
        logTransitions(previous, next);
      }
      tell(healthListeners, previous, next);
    }
    tell(listeners, previous, next);
  }

  private static void tell(List<SnapshotListener> listeners, Snapshot previous, Snapshot next) {
    for (SnapshotListener listener : listeners) {
      try {
        listener.onSnapshot(previous, next);
      } catch (Throwable t) {
        // One broken front end must not stop the others from hearing about changes.
        logger.error("snapshot listener {} failed on version {}; it stays subscribed", listener, next.version(), t);
      }
    }
  }

  /** The snapshot a full rebuild would give now, to check the in-place update against. */
  @VisibleForTesting
  Snapshot rebuilt() {
    synchronized (writeLock) {
      return build(current.version());
    }
  }

  /**
   * A container's own status at {@code now}: NOT_SERVING when removed, when its stale grace or the
   * model's has run out, or for good with the host; else what the serving rules make of its record.
   */
  @GuardedBy("writeLock")
  private ServingStatus ownStatus(String id, Instant now) {
    ContainerRecord live = containers.get(id);
    boolean staleExpired = !inSync && disconnectedAt != null && !now.isBefore(disconnectedAt.plus(staleGrace));
    Instant stale = staleSince.get(id);
    boolean ownStaleExpired = stale != null && !now.isBefore(stale.plus(staleGrace));
    return terminal || staleExpired || ownStaleExpired || live == null
        ? ServingStatus.NOT_SERVING
        : rules.servingStatus(live);
  }

  @GuardedBy("writeLock")
  private Snapshot build(long version) {
    Instant now = clock.instant();
    // Live containers before removed ones, each in ID order, so a redeployed container takes its
    // name back from its removed predecessor and collisions resolve the same way every time.
    Comparator<ContainerRecord> byId = Comparator.comparing(ContainerRecord::id);
    List<ContainerRecord> ordered = new ArrayList<>(containers.values());
    ordered.sort(byId);
    List<ContainerRecord> gone = new ArrayList<>(removed.values().stream().map(Removed::container).toList());
    gone.sort(byId);
    ordered.addAll(gone);

    Map<String, ServingStatus> own = new HashMap<>();
    for (ContainerRecord container : ordered) {
      own.put(container.id(), ownStatus(container.id(), now));
    }

    Map<String, ServiceEntry> services = new LinkedHashMap<>();
    services.put(Snapshot.SIDECAR, new ServiceEntry(Snapshot.SIDECAR,
        inSync && !shuttingDown ? ServingStatus.SERVING : ServingStatus.NOT_SERVING, ImmutableList.of(),
        Optional.empty()));
    ImmutableListMultimap.Builder<String, String> namesByContainer = ImmutableListMultimap.builder();
    for (MembershipRule rule : List.of(MembershipRule.CONTAINER_ID, MembershipRule.CONTAINER_NAME, MembershipRule.SHORT_ID)) {
      for (ContainerRecord container : ordered) {
        String name = switch (rule) {
          case CONTAINER_ID -> container.id();
          case CONTAINER_NAME -> container.name();
          default -> container.shortId();
        };
        if (!services.containsKey(name)) {
          services.put(name, new ServiceEntry(name, own.get(container.id()),
              ImmutableList.of(new Member(container.id(), rule)), Optional.empty()));
          namesByContainer.put(container.id(), name);
        }
      }
    }

    Map<String, List<Member>> groups = new LinkedHashMap<>();
    for (ContainerRecord container : ordered) {
      rules.groupsOf(container).forEach((name, rule) ->
          groups.computeIfAbsent(name, n -> new ArrayList<>()).add(new Member(container.id(), rule)));
    }
    groups.keySet().stream().sorted().forEach(name -> {
      if (services.containsKey(name)) {
        return; // A container's own name wins over a group of the same name.
      }
      List<Member> members = groups.get(name);
      members.sort(Comparator.comparing(Member::rule).thenComparing(Member::containerId));
      GroupPolicy policy = groupPolicy(members);
      services.put(name, new ServiceEntry(name, groupStatus(members, policy, own::get), ImmutableList.copyOf(members),
          Optional.of(policy)));
      members.forEach(m -> namesByContainer.put(m.containerId(), name));
    });

    ImmutableMap.Builder<String, ContainerRecord> all = ImmutableMap.builder();
    ordered.forEach(c -> all.put(c.id(), c));
    return new Snapshot(version, now, inSync, shuttingDown, terminal, all.buildOrThrow(),
        ImmutableSet.copyOf(removed.keySet()), ImmutableSet.copyOf(staleSince.keySet()), ImmutableMap.copyOf(services),
        namesByContainer.build());
  }

  /** A member's {@code dockhealth.policy} label overrides the default; if members disagree, {@code all} wins. */
  @GuardedBy("writeLock")
  private GroupPolicy groupPolicy(List<Member> members) {
    GroupPolicy labelled = null;
    for (Member member : members) {
      ContainerRecord container = containers.get(member.containerId());
      Optional<GroupPolicy> asked = container == null ? Optional.empty() : rules.policyOf(container);
      if (asked.isPresent() && (labelled == null || asked.get() == GroupPolicy.ALL)) {
        labelled = asked.get();
      }
    }
    return labelled != null ? labelled : rules.defaultPolicy();
  }

  /**
   * Only live members count: a removed container waiting to be forgotten must not hold a group
   * down while its replacement serves. A group with no live member is NOT_SERVING.
   */
  @GuardedBy("writeLock")
  private ServingStatus groupStatus(List<Member> members, GroupPolicy policy, Function<String, ServingStatus> own) {
    List<ServingStatus> live = members.stream()
        .filter(m -> containers.containsKey(m.containerId()))
        .map(m -> own.apply(m.containerId()))
        .toList();
    boolean serving = switch (policy) {
      case ANY -> live.contains(ServingStatus.SERVING);
      case ALL -> !live.isEmpty() && live.stream().allMatch(s -> s == ServingStatus.SERVING);
    };
    return serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
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
