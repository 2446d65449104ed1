/** Runs the real `tillbridge` command as a child process, for tests that kill it. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "tillbridge.mjs");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export function runCli(
  args: string[],
  env: Record<string, string>,
  /** Another checkout's `bin/tillbridge.mjs` (a bench comparing with a baseline). */
  bin: string = BIN,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface HubProcessOptions {
  /** Node flags before the script (a bench's `npm start` flags, `--cpu-prof`). */
  readonly nodeFlags?: readonly string[];
  /** Another checkout's `bin/tillbridge.mjs` (a bench comparing with a baseline). */
  readonly bin?: string;
}

export async function startHubProcess(
  env: Record<string, string>,
  options: HubProcessOptions = {},
): Promise<{ child: ChildProcess; url: string }> {
  // The free port found may be taken by another process before the hub listens: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHubProcessOnce(env, options);
    } catch (err) {
      if (attempt >= 3 || !String((err as Error).message).includes("EADDRINUSE")) throw err;
    }
  }
}

async function startHubProcessOnce(
  env: Record<string, string>,
  options: HubProcessOptions,
): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), options.bin ?? BIN, "start"], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  // Generous: on a loaded 2-core machine a cold start (TypeScript loaded through tsx) can take 30 s.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`hub exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`hub did not become healthy: ${stderr}`);
}
