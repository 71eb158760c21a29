// A TCP proxy in front of a server whose open connections a test can make go silent, as a
// laptop's do across sleep: the server's side is gone, the client's socket still looks open and
// hears nothing until its own idle timeout. New connections go through as before.
import { createServer, connect, type Socket } from 'node:net';

export interface StallProxy {
  /** The server's address as seen through the proxy (http://127.0.0.1:PORT). */
  url: string;
  /**
   * Every open connection whose latest request line matches `requestLine` stops carrying
   * bytes either way (nothing is closed). Returns how many went silent.
   */
  stall(requestLine: RegExp): number;
  /** How many requests so far had a request line matching `requestLine`. */
  requests(requestLine: RegExp): number;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** The request this connection carries now (HTTP/1.1 keep-alive reuses connections). */
  requestLine: string | null;
  stalled: boolean;
}

export async function startStallProxy(target: string): Promise<StallProxy> {
  const { hostname, port } = new URL(target);
  const links = new Set<Link>();
  const requestLines: string[] = [];
  const REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/1\.[01]$/;
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    const link: Link = { client, upstream, requestLine: null, stalled: false };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.stalled) return;
      // A chunk that starts a request starts with its request line (no pipelining here).
      const line = chunk.toString('latin1', 0, Math.min(chunk.length, 512)).split('\r\n', 1)[0]!;
      if (REQUEST_LINE.test(line)) {
        link.requestLine = line;
        requestLines.push(line);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.stalled) client.write(chunk);
    });
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the stall proxy has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stall(requestLine) {
      let count = 0;
      for (const link of links) {
        if (link.requestLine !== null && requestLine.test(link.requestLine)) {
          link.stalled = true;
          count++;
        }
      }
      return count;
    },
    requests: (requestLine) => requestLines.filter((line) => requestLine.test(line)).length,
    async close() {
      for (const link of links) {
        link.client.destroy();
        link.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
