package io.dockhealth.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.common.base.Ticker;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** A few lines per kind of fault per minute, and then how many were left out. */
class ClientFaultsTest {
  private final AtomicLong nanos = new AtomicLong();
  private final Ticker ticker = new Ticker() {
    @Override
    public long read() {
      return nanos.get();
    }
  };
  private final Logger logger = (Logger) LoggerFactory.getLogger("test.ClientFaults." + System.nanoTime());
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final ClientFaults faults = new ClientFaults(logger, ticker);

  ClientFaultsTest() {
    appender.start();
    logger.addAppender(appender);
    logger.setAdditive(false);
  }

  private List<String> lines() {
    return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void report_aFloodOfOneKind_logsAFewAMinute_thenSaysHowManyWereLeftOut() {
    for (int i = 0; i < 100; i++) {
      faults.report("slow head", "client {} was slow", i);
    }
    assertThat(lines()).containsExactly("client 0 was slow", "client 1 was slow", "client 2 was slow");

    nanos.addAndGet(TimeUnit.SECONDS.toNanos(59));
    faults.report("slow head", "client {} was slow", "late");
    assertThat(lines()).hasSize(3);

    nanos.addAndGet(TimeUnit.SECONDS.toNanos(1));
    faults.report("slow head", "client {} was slow", "next");
    assertThat(lines()).last().isEqualTo("client next was slow (98 more slow head faults were not logged)");
    faults.report("slow head", "client {} was slow", "again");
    assertThat(lines()).last().isEqualTo("client again was slow");
  }

  @Test
  void report_eachKindHasItsOwnMinute() {
    for (int i = 0; i < 10; i++) {
      faults.report("a", "a {}", i);
      faults.report("b", "b {}", i);
    }
    assertThat(lines()).containsExactly("a 0", "b 0", "a 1", "b 1", "a 2", "b 2");
  }

  @Test
  void logText_escapesLineBreaksAndControlCharacters_andLeavesTheRest() {
    assertThat(LogText.escape("web-1")).isEqualTo("web-1");
    assertThat(LogText.escape("a\nINFO forged line")).isEqualTo("a\\nINFO forged line");
    assertThat(LogText.escape("a\r\nb\u0000c\u001b[31md\u2028e\u0085f\tg ü"))
        .isEqualTo("a\\r\\nb\\u0000c\\u001b[31md\\u2028e\\u0085f\tg ü");
  }

  @Test
  void client_namesTcpClientsByAddress_andSaysSoForAUnixSocketsUnnamedOnes() {
    assertThat(ClientFaults.client(new InetSocketAddress("127.0.0.1", 40000))).isEqualTo("/127.0.0.1:40000");
    assertThat(ClientFaults.client(UnixDomainSocketAddress.of(""))).isEqualTo("on a unix socket");
    assertThat(ClientFaults.client(UnixDomainSocketAddress.of("/run/app.sock"))).isEqualTo("unix:/run/app.sock");
    assertThat(ClientFaults.client(null)).isEqualTo("null");
  }
}
