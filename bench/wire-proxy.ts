/**
 * A loopback TCP proxy in a process of its own, counting the bytes it passes each way: what is
 * on the wire between the bench's agent and its collector. Its own process, so the copying is
 * not charged to the agent's (or the collector's) CPU figures.
 *
 *   node --import tsx bench/wire-proxy.ts <target port>
 *
 * Prints `{"port":N}` once listening; answers each line on stdin with
 * `{"toTarget":N,"fromTarget":N,"cpuSeconds":N}`.
 */
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const targetPort = Number(process.argv[2]);
if (!Number.isInteger(targetPort) || targetPort <= 0) {
  process.stderr.write('usage: wire-proxy.ts <target port>\n');
  process.exit(2);
}

let toTarget = 0;
let fromTarget = 0;
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ host: '127.0.0.1', port: targetPort, noDelay: true });
  for (const s of [client, upstream]) s.on('error', () => undefined);
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('data', (chunk: Buffer) => (toTarget += chunk.length));
  upstream.on('data', (chunk: Buffer) => (fromTarget += chunk.length));
  client.pipe(upstream).pipe(client);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
createInterface({ input: process.stdin }).on('line', () => {
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ toTarget, fromTarget, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`,
  );
});
process.stdin.on('end', () => process.exit(0));
