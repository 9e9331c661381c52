package io.dockhealth.server.net;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.base.Equivalence;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ServerChannel;
import io.netty.util.AttributeKey;
import java.net.SocketAddress;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import javax.annotation.Nullable;

/**
 * The most connections one listener holds, enforced where connections are accepted: its
 * {@link #acceptor()} sits on the listening channel ahead of Netty's own acceptor, so it sees each
 * new connection before the connection is registered or read, in the order the kernel hands them
 * over.
 *
 * <p>A connection that comes when every slot is taken reclaims the slot of one that has waited
 * longest without a request in progress, in this order: one that has never completed a request
 * ({@link State#FRESH}: silent, or sending slowly, which is what a flood looks like), then an idle
 * keep-alive connection ({@link State#IDLE}), then a parked long-poll ({@link State#PARKED}). That
 * connection is closed by the listener's eviction action; nginx closes its "reusable" connections
 * the same way when it runs out. A new connection is refused only when every slot is
 * {@link State#BUSY} answering a request: closed at once and never read. So clients that open
 * connections and send nothing, or send slowly, can neither exceed the cap nor keep others out,
 * and a newcomer that sends its request at once is the last one a flood would evict.
 *
 * <p>A connection holds its file descriptor until its close is done on its event loop, so
 * connections being closed (reclaimed, or refused and being answered) are counted too: while
 * {@value #MAX_CLOSING} of them are, the listener stops accepting (new connections wait in the
 * kernel's backlog, holding no descriptor) until half of them are gone. So a burst of connects
 * never takes the process past {@code max} plus a few dozen descriptors.
 *
 * <pre>{@code
 * ConnectionCap cap = ConnectionCap.forHandlers(1000, ch -> ch.close());
 * new ServerBootstrap().handler(cap.acceptor())...;   // or cap.wrap(channelFactory) for grpc-java
 * ConnectionCap.slotOf(child).enter(State.BUSY);       // as the connection's requests come and go
 * }</pre>
 */
public final class ConnectionCap {
  /** Where a connection is, as far as reclaiming its slot goes. */
  public enum State {
    /** Accepted, no request completed yet: the first to be reclaimed. */
    FRESH,
    /** Between requests, having completed at least one. */
    IDLE,
    /** Waiting in a long-poll: reclaimed last, by answering it. */
    PARKED,
    /** Answering a request: never reclaimed. */
    BUSY,
  }

  /** Connections closing before the listener pauses; with one read's accepts, what a cap may exceed. */
  static final int MAX_CLOSING = 16;

  private static final AttributeKey<Slot> SLOT = AttributeKey.valueOf(ConnectionCap.class, "slot");

  private final int max;
  private final Consumer<Channel> evict;
  /** Whether the listener's own handlers follow each connection (else a transport, by its address object). */
  private final boolean ownHandlers;
  private final Object lock = new Object();

  /** The reclaimable slots of each state but BUSY, oldest first. */
  @GuardedBy("lock")
  private final Map<State, LinkedHashSet<Slot>> waiting = new EnumMap<>(State.class);

  @GuardedBy("lock")
  private int open;

  /** Connections reclaimed or refused whose close is not done yet. */
  @GuardedBy("lock")
  private int closing;

  /** Listening channels paused until fewer connections are closing. */
  @GuardedBy("lock")
  private final Set<Channel> paused = new HashSet<>();

  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong evicted = new AtomicLong();

  /**
   * A transport's open connections by their remote address object, compared by identity, not by
   * value: the channel keeps the address object it first read (Netty caches it; the JDK makes one
   * per accepted socket), and grpc-java hands its transport filter that very object. So it tells
   * every connection apart, a unix socket's too, whose clients all have the same unnamed address.
   */
  private final Map<Equivalence.Wrapper<SocketAddress>, Slot> byRemoteAddress = new ConcurrentHashMap<>();
  private final ChannelHandler acceptor = new Acceptor();

  private ConnectionCap(int max, Consumer<Channel> evict, boolean ownHandlers) {
    checkArgument(max > 0, "max: %s (expected: > 0)", max);
    this.max = max;
    this.evict = checkNotNull(evict, "evict");
    this.ownHandlers = ownHandlers;
    for (State state : State.values()) {
      if (state != State.BUSY) {
        waiting.put(state, new LinkedHashSet<>());
      }
    }
  }

  /**
   * A cap for a listener whose own handlers follow each connection through {@link #slotOf}: a
   * refused connection still goes on to the child handler, without a slot, to be answered cheaply
   * and closed (HTTP's 503).
   *
   * @param max the most connections held at once
   * @param evict closes a connection whose slot was reclaimed; runs on the connection's event loop
   */
  public static ConnectionCap forHandlers(int max, Consumer<Channel> evict) {
    return new ConnectionCap(max, evict, true);
  }

  /**
   * A cap for a transport that is not ours, such as grpc-java's, which follows connections by
   * their remote address object ({@link #slotFrom}), on TCP and unix sockets alike: a refused
   * connection is closed at accept. A connection without an address object of its own (none, or
   * one another open connection holds, which no socket channel gives) is never reclaimed, since its
   * calls cannot be seen.
   *
   * @param max the most connections held at once
   * @param evict closes a connection whose slot was reclaimed; runs on the connection's event loop
   */
  public static ConnectionCap forTransport(int max, Consumer<Channel> evict) {
    return new ConnectionCap(max, evict, false);
  }

  /** The handler to put on the listening channel's pipeline, ahead of Netty's acceptor. */
  public ChannelHandler acceptor() {
    return acceptor;
  }

  /**
   * A factory of listening channels that each carry the {@link #acceptor()}, for servers that make
   * their own bootstrap, such as grpc-java's {@code NettyServerBuilder.channelFactory}: a handler
   * added when the channel is made comes before the acceptor the bootstrap adds when it registers.
   */
  public <C extends ServerChannel> ChannelFactory<C> wrap(ChannelFactory<C> factory) {
    checkNotNull(factory, "factory");
    return () -> {
      C channel = factory.newChannel();
      channel.pipeline().addLast(acceptor);
      return channel;
    };
  }

  /** The slot of an accepted connection; empty when it was refused (see {@link #forHandlers}). */
  public static Optional<Slot> slotOf(Channel connection) {
    return Optional.ofNullable(connection.attr(SLOT).get());
  }

  /**
   * The slot of the open connection whose channel holds this very address object (the one its
   * {@code remoteAddress()} returns); how a transport that does not give out its channels finds it.
   */
  public Optional<Slot> slotFrom(@Nullable SocketAddress remoteAddress) {
    return remoteAddress == null
        ? Optional.empty()
        : Optional.ofNullable(byRemoteAddress.get(Equivalence.identity().wrap(remoteAddress)));
  }

  /** Connections holding a slot now. */
  public int open() {
    synchronized (lock) {
      return open;
    }
  }

  /** Connections refused so far because every slot was busy. */
  public long refused() {
    return refused.get();
  }

  /** Connections closed so far to give their slot to a newer one. */
  public long evicted() {
    return evicted.get();
  }

  /**
   * Takes a slot for {@code connection}, reclaiming one if all are taken; null when every slot is
   * busy. Called on the listener's thread, in accept order; tests call it directly.
   */
  @Nullable
  Slot admit(Channel connection) {
    // Read now, before the transport reads it: the channel keeps this object and hands it out after.
    SocketAddress remoteAddress = ownHandlers ? null : connection.remoteAddress();
    Slot victim;
    Slot slot;
    synchronized (lock) {
      victim = open < max ? null : reclaim();
      if (open >= max) {
        refused.incrementAndGet();
        if (ownHandlers) {
          closing++; // answered and closed on its event loop
          connection.closeFuture().addListener(f -> closed());
        }
        return null;
      }
      slot = new Slot(connection);
      open++;
      if (!ownHandlers && !slot.index(remoteAddress)) {
        slot.state = State.BUSY;
      } else {
        waiting.get(State.FRESH).add(slot);
      }
    }
    connection.attr(SLOT).set(slot);
    connection.closeFuture().addListener(f -> slot.release());
    if (victim != null) {
      evicted.incrementAndGet();
      // Victims were accepted before this connection, so Netty's acceptor has given them their
      // event loop already.
      Channel old = victim.connection;
      old.eventLoop().execute(() -> evict.accept(old));
    }
    return slot;
  }

  /** Frees the oldest reclaimable slot, most reclaimable state first; null when all are busy. */
  @GuardedBy("lock")
  @Nullable
  private Slot reclaim() {
    for (LinkedHashSet<Slot> slots : waiting.values()) {
      Iterator<Slot> oldest = slots.iterator();
      if (oldest.hasNext()) {
        Slot victim = oldest.next();
        oldest.remove();
        victim.gone = true;
        victim.reclaimed = true;
        open--;
        closing++;
        return victim;
      }
    }
    return null;
  }

  /** A reclaimed or refused connection's close is done: accept again once few are left. */
  private void closed() {
    // Pausing and resuming under the lock, so that a resume never overtakes the pause it undoes.
    synchronized (lock) {
      closing--;
      if (closing <= MAX_CLOSING / 2) {
        paused.forEach(listener -> listener.config().setAutoRead(true));
        paused.clear();
      }
    }
  }

  /** Stops {@code listener} accepting while too many connections are closing. */
  private void pauseIfClosing(Channel listener) {
    synchronized (lock) {
      if (closing >= MAX_CLOSING && paused.add(listener)) {
        listener.config().setAutoRead(false);
      }
    }
  }

  /** One connection's place under the cap. */
  public final class Slot {
    private final Channel connection;
    /** Its key in {@link #byRemoteAddress}; null when it is not there (a listener's own handlers follow it). */
    @GuardedBy("lock")
    @Nullable
    private Equivalence.Wrapper<SocketAddress> key;

    @GuardedBy("lock")
    private State state = State.FRESH;

    /** Reclaimed or closed: the slot is free and the connection is going. */
    @GuardedBy("lock")
    private boolean gone;

    /** Reclaimed: its close is counted as closing until done. */
    @GuardedBy("lock")
    private boolean reclaimed;

    private Slot(Channel connection) {
      this.connection = connection;
    }

    /** Makes it found by {@link #slotFrom}; false when it cannot be told apart by its address object. */
    @GuardedBy("lock")
    private boolean index(@Nullable SocketAddress remoteAddress) {
      if (remoteAddress == null) {
        return false;
      }
      Equivalence.Wrapper<SocketAddress> wrapped = Equivalence.identity().wrap(remoteAddress);
      if (byRemoteAddress.putIfAbsent(wrapped, this) != null) {
        return false;
      }
      key = wrapped;
      return true;
    }

    /**
     * Moves the connection to {@code next}; a reclaimable state puts it last in line.
     *
     * @return false when its slot has been reclaimed: the connection is being closed and must not
     *     start anything
     */
    public boolean enter(State next) {
      checkNotNull(next, "next");
      synchronized (lock) {
        if (gone) {
          return false;
        }
        if (state != State.BUSY) {
          waiting.get(state).remove(this);
        }
        state = next;
        if (next != State.BUSY) {
          waiting.get(next).add(this);
        }
        return true;
      }
    }

    private void release() {
      boolean wasReclaimed;
      Equivalence.Wrapper<SocketAddress> indexed;
      synchronized (lock) {
        wasReclaimed = reclaimed;
        indexed = key;
        if (!gone) {
          gone = true;
          open--;
          if (state != State.BUSY) {
            waiting.get(state).remove(this);
          }
        }
      }
      if (indexed != null) {
        byRemoteAddress.remove(indexed, this);
      }
      if (wasReclaimed) {
        closed();
      }
    }
  }

  @ChannelHandler.Sharable
  private final class Acceptor extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel connection = (Channel) msg;
      if (admit(connection) != null || ownHandlers) {
        ctx.fireChannelRead(connection);
      } else {
        // Not registered with an event loop yet, so close() has nowhere to run; this is how
        // Netty's own acceptor drops a connection it cannot register.
        connection.unsafe().closeForcibly();
      }
      pauseIfClosing(ctx.channel());
    }
  }
}
