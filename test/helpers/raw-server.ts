// A raw HTTP/1.1 server on 127.0.0.1 for transport tests: it frames requests by Content-Length and
// lets the test answer with any bytes at all (malformed answers included).
import { once } from 'node:events';
import net from 'node:net';

export interface RawServer {
  port: number;
  url: string;
  connections: () => number;
  requests: () => number;
  close: () => Promise<void>;
}

/** `respond(socket, request, n)` runs once per complete request (head and body, latin1); n counts requests over all connections. */
export async function rawServer(respond: (socket: net.Socket, request: string, n: number) => void): Promise<RawServer> {
  let connections = 0;
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const len = Number(/content-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const request = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        respond(socket, request, ++n);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests: () => n,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** The body of a request `rawServer` passed on, as UTF-8 text. */
export function bodyOf(request: string): string {
  return Buffer.from(request.slice(request.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8');
}
