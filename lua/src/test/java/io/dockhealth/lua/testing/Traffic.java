package io.dockhealth.lua.testing;

import java.util.ArrayList;
import java.util.List;

/** Sequential user requests to nginx, and what they show about the routing. */
public final class Traffic {
  private Traffic() {}

  /** {@code n} requests, one after the other (one keep-alive connection, so one nginx worker). */
  public static List<Http.Answer> send(int port, String path, int n) {
    List<Http.Answer> answers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      answers.add(Http.get(port, path));
    }
    return answers;
  }

  /** Who answered each request: a backend's name, or the status nginx answered with itself. */
  public static List<String> who(List<Http.Answer> answers) {
    return answers.stream().map(Http.Answer::who).toList();
  }

  /** {@link #who} of {@code n} requests. */
  public static List<String> who(int port, String path, int n) {
    return who(send(port, path, n));
  }

  /** The longest stretch of equal neighbours: 1 for strict alternation. */
  public static int longestRun(List<String> seq) {
    int longest = 0;
    int run = 0;
    for (int i = 0; i < seq.size(); i++) {
      run = i > 0 && seq.get(i).equals(seq.get(i - 1)) ? run + 1 : 1;
      longest = Math.max(longest, run);
    }
    return longest;
  }
}
