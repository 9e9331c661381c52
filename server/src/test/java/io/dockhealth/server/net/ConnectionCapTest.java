package io.dockhealth.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.server.net.ConnectionCap.State;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Slots taken in accept order, reclaimed from the least useful connection, refused only when all are busy. */
class ConnectionCapTest {
  private final List<Channel> evicted = new ArrayList<>();
  private final ConnectionCap cap = ConnectionCap.forHandlers(3, evicted::add);
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  @AfterEach
  void close() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  /** A connection as the listening channel hands it over: admitted, then registered. */
  private EmbeddedChannel accept() throws Exception {
    EmbeddedChannel channel = new EmbeddedChannel(false, false);
    ConnectionCap.Slot slot = cap.admit(channel);
    channel.register();
    channels.add(channel);
    assertThat(ConnectionCap.slotOf(channel)).containsSame(slot);
    return channel;
  }

  private static ConnectionCap.Slot slot(Channel channel) {
    return ConnectionCap.slotOf(channel).orElseThrow();
  }

  private List<Channel> evictedNow() {
    channels.forEach(EmbeddedChannel::runPendingTasks);
    return evicted;
  }

  @Test
  void underTheCap_everyConnectionGetsASlot() throws Exception {
    accept();
    accept();
    accept();
    assertThat(cap.open()).isEqualTo(3);
    assertThat(evictedNow()).isEmpty();
  }

  @Test
  void overTheCap_reclaimsTheOldestFreshConnection_thenIdle_thenParked() throws Exception {
    EmbeddedChannel parked = accept();
    EmbeddedChannel idle = accept();
    EmbeddedChannel fresh = accept();
    slot(parked).enter(State.PARKED);
    slot(idle).enter(State.IDLE);

    slot(accept()).enter(State.BUSY);
    assertThat(evictedNow()).containsExactly(fresh);

    slot(accept()).enter(State.BUSY);
    assertThat(evictedNow()).containsExactly(fresh, idle);
    assertThat(slot(idle).enter(State.BUSY)).as("a reclaimed connection starts nothing").isFalse();

    slot(accept()).enter(State.BUSY);
    assertThat(evictedNow()).containsExactly(fresh, idle, parked);
    assertThat(cap.open()).isEqualTo(3);
    assertThat(cap.evicted()).isEqualTo(3);
  }

  @Test
  void overTheCap_reEnteringAStatePutsAConnectionLastInLine() throws Exception {
    EmbeddedChannel first = accept();
    EmbeddedChannel second = accept();
    accept();
    slot(first).enter(State.BUSY);
    slot(first).enter(State.FRESH); // say, a new head started: it is the newest now

    accept();

    assertThat(evictedNow()).containsExactly(second);
  }

  @Test
  void overTheCap_everySlotBusy_refusesAndCountsIt() throws Exception {
    for (int i = 0; i < 3; i++) {
      slot(accept()).enter(State.BUSY);
    }

    EmbeddedChannel over = new EmbeddedChannel(false, false);
    assertThat(cap.admit(over)).isNull();

    assertThat(ConnectionCap.slotOf(over)).isEmpty();
    assertThat(cap.refused()).isEqualTo(1);
    assertThat(cap.open()).isEqualTo(3);
  }

  @Test
  void aClosedConnection_freesItsSlot() throws Exception {
    EmbeddedChannel first = accept();
    slot(first).enter(State.BUSY);
    slot(accept()).enter(State.BUSY);
    slot(accept()).enter(State.BUSY);

    first.close();

    assertThat(cap.open()).isEqualTo(2);
    assertThat(cap.admit(new EmbeddedChannel(false, false))).isNotNull();
    assertThat(evictedNow()).isEmpty();
  }

  /** A connection whose channel holds {@code remoteAddress}, as a socket channel does from accept on. */
  private EmbeddedChannel from(SocketAddress remoteAddress) throws Exception {
    EmbeddedChannel channel = new EmbeddedChannel(false, false) {
      @Override
      protected SocketAddress remoteAddress0() {
        return remoteAddress;
      }
    };
    channel.register();
    channels.add(channel);
    return channel;
  }

  @Test
  void forATransport_connectionsWithEqualAddresses_areToldApartByTheObjectTheirChannelHolds() throws Exception {
    ConnectionCap transport = ConnectionCap.forTransport(2, evicted::add);
    // Unix-socket clients: each has the same unnamed address, each in an object of its own.
    EmbeddedChannel first = from(UnixDomainSocketAddress.of(""));
    EmbeddedChannel second = from(UnixDomainSocketAddress.of(""));
    ConnectionCap.Slot firstSlot = transport.admit(first);
    ConnectionCap.Slot secondSlot = transport.admit(second);

    assertThat(transport.slotFrom(first.remoteAddress())).containsSame(firstSlot);
    assertThat(transport.slotFrom(second.remoteAddress())).containsSame(secondSlot);
    assertThat(transport.slotFrom(UnixDomainSocketAddress.of(""))).as("an equal address, no connection's").isEmpty();

    firstSlot.enter(State.BUSY);
    secondSlot.enter(State.IDLE);
    assertThat(transport.admit(from(UnixDomainSocketAddress.of("")))).isNotNull();

    assertThat(evictedNow()).containsExactly(second);
    second.close();
    assertThat(transport.slotFrom(second.remoteAddress())).as("forgotten once closed").isEmpty();
  }

  @Test
  void forATransport_aConnectionWithoutAnAddressObjectOfItsOwn_isNeverReclaimed() throws Exception {
    ConnectionCap transport = ConnectionCap.forTransport(2, evicted::add);
    SocketAddress shared = UnixDomainSocketAddress.of("");
    EmbeddedChannel owner = from(shared);
    ConnectionCap.Slot ownerSlot = transport.admit(owner);
    assertThat(transport.admit(from(shared))).isNotNull();

    assertThat(transport.slotFrom(shared)).containsSame(ownerSlot);
    assertThat(transport.admit(from(null))).as("the owner gives way, not the one sharing").isNotNull();
    assertThat(evictedNow()).containsExactly(owner);
    assertThat(transport.admit(from(UnixDomainSocketAddress.of(""))))
        .as("neither the one sharing nor the one without an address can be seen idle").isNull();
  }
}
