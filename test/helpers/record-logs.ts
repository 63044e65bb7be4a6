import { execFileSync } from 'node:child_process';

// Test input for the agent's record stage (multiline events, encodings), shared by the tests
// that run it into different sinks.

/** A Java service's event: a log line, and for every third one a stack trace with a cause. */
export function javaEvent(n: number): string {
  const head = `2026-12-07 10:00:${String(n % 60).padStart(2, '0')}.000 ${n % 3 === 0 ? 'ERROR' : 'INFO '} [exec-${n % 7}] c.e.OrderService - order ${n}`;
  if (n % 3 !== 0) return head;
  return [
    head,
    `java.lang.IllegalStateException: payment ${n} refused`,
    `\tat com.example.PaymentService.charge(PaymentService.java:${n})`,
    `\tat com.example.OrderService.place(OrderService.java:${n + 1})`,
    `\t... ${n % 40} more`,
    `Caused by: java.net.SocketTimeoutException: read ${n} timed out`,
    `\tat java.base/java.net.SocketInputStream.read(SocketInputStream.java:${n + 2})`,
  ].join('\n');
}

/** GBK bytes of `text`, by iconv (glibc's, present wherever the tests run). */
export function gbk(text: string): Buffer {
  return execFileSync('iconv', ['-f', 'utf-8', '-t', 'gbk'], { input: text });
}
