// Starts and stops the real tgdesk binary (with its embedded tg-sim) for the
// browser tests: a temp data dir, free ports, the admin password.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.mjs';

/** A free TCP port whose next port is free too (tg-sim's MTProto port is the control port + 1). */
export async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const port = await freePort(0);
    if (port < 65535 && (await freePort(port + 1).catch(() => null))) return port;
  }
  throw new Error('no two free ports in a row');
}

function freePort(port) {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

export const ADMIN_PASSWORD = 'web-test-admin-pw';

/**
 * The server under test. `start()` runs the binary and waits for /api/health;
 * `stop()` sends SIGTERM and waits for the exit; `start()` again reuses the
 * data dir and ports (a restart). `env` adds settings (TGDESK_*).
 */
export class Server {
  constructor({ binary, demo = false, outDir, env = {} }) {
    this.binary = binary;
    this.demo = demo;
    this.env = env;
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'tgdesk-web-'));
    this.outDir = outDir;
    this.proc = null;
    this.starts = 0;
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  get sim() {
    return `http://127.0.0.1:${this.simPort}`;
  }

  async start() {
    if (!this.port) {
      this.port = await freePort(0);
      this.simPort = await freePortPair();
    }
    const log = openSync(path.join(this.outDir, `server-${++this.starts}.log`), 'a');
    this.proc = spawn(this.binary, [], {
      env: {
        ...process.env,
        TGDESK_DATA_DIR: this.dataDir,
        TGDESK_ADDR: `127.0.0.1:${this.port}`,
        TGDESK_SIM_ADDR: `127.0.0.1:${this.simPort}`,
        TGDESK_ADMIN_PASSWORD: ADMIN_PASSWORD,
        TGDESK_DEMO: this.demo ? '1' : '0',
        TGDESK_WEB_DIR: path.resolve(import.meta.dirname, '../dist'),
        RUST_LOG: process.env.RUST_LOG ?? 'info,tower_http=warn',
        ...this.env,
      },
      stdio: ['ignore', log, log],
    });
    const proc = this.proc;
    let exited = null;
    proc.once('exit', (code) => (exited = code));
    await waitFor(
      async () => {
        if (exited !== null) throw new Error(`tgdesk exited with ${exited}; see ${this.outDir}/server-${this.starts}.log`);
        const r = await fetch(`${this.base}/api/health`).catch(() => null);
        return r?.ok;
      },
      { what: 'the server to answer /api/health', timeout: 60_000 },
    );
  }

  async stop() {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    // A server that does not finish within 20 s is killed; SIGKILL cannot be ignored.
    const timer = setTimeout(() => {
      console.log(`tgdesk (pid ${proc.pid}) did not stop within 20 s of SIGTERM; killing it`);
      proc.kill('SIGKILL');
    }, 20_000);
    await gone;
    clearTimeout(timer);
    this.proc = null;
  }

  /** Stops the server and removes its data dir (the logs stay in `outDir`). */
  async dispose() {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
