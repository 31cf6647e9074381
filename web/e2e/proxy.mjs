// A TCP proxy in front of the server whose connections the test can cut:
// a real network drop for the browser while the server keeps running.
import net from 'node:net';

export class CuttableProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.sockets = new Set();
    this.refusing = false;
    this.server = net.createServer((client) => {
      if (this.refusing) return client.destroy();
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${this.server.address().port}`;
  }

  /** Drops every connection and refuses new ones until `restore()`. */
  cut() {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
  }

  restore() {
    this.refusing = false;
  }

  close() {
    this.cut();
    this.server.close();
  }
}
