/** Loopback TCP pairs and a slow receiver for the sendfile tests and benchmark. */
import net from 'node:net';

/** A connected client/server socket pair on 127.0.0.1 and a way to tear it down. */
export interface LoopbackPair {
  /** The side that sends (what `sendTo` is given). */
  client: net.Socket;
  /** The accepted side that receives. */
  server: net.Socket;
  /** Destroys both sockets and closes the listener. */
  close(): Promise<void>;
}

/** Opens a listener on 127.0.0.1 (port 0), connects to it and returns both ends. */
export async function loopbackPair(): Promise<LoopbackPair> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  const server = await accepted;
  if (client.connecting) await new Promise((resolve) => client.once('connect', resolve));
  // A reset peer surfaces as 'error' on the socket that notices: the tests assert on promises.
  client.on('error', () => undefined);
  server.on('error', () => undefined);
  return {
    client,
    server,
    async close() {
      client.destroy();
      server.destroy();
      await new Promise((resolve) => listener.close(resolve));
    },
  };
}

/** Options for {@link receive}. */
export interface ReceiveOptions {
  /** Wait this long after each chunk before reading on (a slow consumer); 0 = as fast as possible. */
  delayMs?: number;
  /** Start reading only when this promise resolves. */
  startAfter?: Promise<unknown>;
}

/** Reads `total` bytes from the socket (which starts paused) and resolves with them. */
export function receive(socket: net.Socket, total: number, options: ReceiveOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= total) {
        socket.off('data', onData);
        socket.pause();
        resolve(Buffer.concat(chunks));
      } else if (options.delayMs !== undefined && options.delayMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), options.delayMs);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`receiver closed after ${got} of ${total} bytes`)));
    const start = () => socket.resume();
    if (options.startAfter === undefined) start();
    else options.startAfter.then(start, reject);
  });
}

/** Whether a promise is still pending after the event loop has turned a few times. */
export async function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  const result = await Promise.race([promise.then(() => null, () => null), new Promise((r) => setTimeout(() => r(marker), 20))]);
  return result === marker;
}
