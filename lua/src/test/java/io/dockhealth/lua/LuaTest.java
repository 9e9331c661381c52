package io.dockhealth.lua;

import static org.assertj.core.api.Assertions.assertThat;

import io.dockhealth.testing.Command;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Lua sources on their own: luacheck (lua/.luacheckrc, std ngx_lua) must find nothing, and the
 * busted specs (lua/spec, plain Lua 5.1 with fakes for the socket) must pass. Both tools come from
 * Debian (lua-check, lua-busted), installed by scripts/test; a missing tool fails, never skips.
 */
class LuaTest {
  private static final Path LUA = Path.of("").toAbsolutePath();

  @Test
  void luacheck_findsNoWarningAndNoError() {
    Command check = Command.run(LUA, Duration.ofSeconds(120), "luacheck", "--no-color", "--formatter", "plain", ".");
    assertThat(check.exitCode()).as(check.describe()).isZero();
  }

  @Test
  void bustedSpecs_pass() {
    Command busted = Command.run(LUA, Duration.ofSeconds(120), "busted", "--output=TAP");
    assertThat(busted.exitCode()).as(busted.describe()).isZero();
    Matcher plan = Pattern.compile("(?m)^1\\.\\.(\\d+)$").matcher(busted.output());
    assertThat(plan.find()).as("a TAP plan in %s", busted.output()).isTrue();
    assertThat(Integer.parseInt(plan.group(1))).as("specs run").isGreaterThanOrEqualTo(40);
    assertThat(busted.output()).doesNotContain("not ok");
  }
}
