/**
 * The console in Debian's chromium (playwright-core): builds it when its sources are newer than
 * dist/console, opens pages that fail the test on a CSP violation or a page error, counts the
 * clicks and fields a person would use, checks accessibility with axe-core and saves screenshots.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "../..");
export const ARTIFACTS = join(ROOT, "test-artifacts/console");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/console when it is missing or older than console/ (npm install builds it too): into
 * a directory of its own, then swapped in, so a hub serving the console elsewhere never sees it
 * half written.
 */
export function ensureConsoleBuilt(): void {
  const dist = join(ROOT, "dist/console");
  const index = join(dist, "index.html");
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(join(ROOT, "console"))) return;
  const tmp = join(ROOT, `dist/console-build-${process.pid}`);
  execFileSync(
    process.execPath,
    [
      join(ROOT, "node_modules/vite/bin/vite.js"),
      "build",
      "--config",
      "console/vite.config.ts",
      "--outDir",
      tmp,
      "--emptyOutDir",
    ],
    { cwd: ROOT, stdio: "pipe" },
  );
  rmSync(dist, { recursive: true, force: true });
  renameSync(tmp, dist);
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A person's effort: clicks (and key presses that act) and fields filled or chosen. */
export class Effort {
  clicks = 0;
  fields = 0;
  async click(l: Locator): Promise<void> {
    this.clicks++;
    await l.click();
  }
  async fill(l: Locator, value: string): Promise<void> {
    this.fields++;
    await l.fill(value);
  }
  async select(l: Locator, value: string): Promise<void> {
    this.fields++;
    await l.selectOption(value);
  }
  async check(l: Locator): Promise<void> {
    this.fields++;
    await l.check();
  }
}

export interface ConsolePage {
  readonly page: Page;
  /** Page errors and CSP violations seen so far (a test expects none). */
  readonly problems: string[];
}

export async function openConsole(browser: Browser, url: string): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: LAPTOP, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) =>
    problems.push(
      `page error: ${e.message} (${e.stack?.split("\n")[1]?.trim() ?? "no stack"}) on ${page.url()}`,
    ),
  );
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  await page.goto(url);
  return { page, problems };
}

let axeSource: string | null = null;

/** Serious and critical axe-core violations on the page as it is now (axe is injected through CDP, not a script tag, so the CSP stays on). */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is a global injected above
    const axe = (globalThis as any).axe;
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map(
      (v: { id: string; impact: string; help: string; nodes: { target: string[] }[] }) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
      }),
    );
  });
  return violations
    .filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v: { id: string; impact: string; help: string; targets: string[] }) =>
        `${v.impact} ${v.id}: ${v.help} (${v.targets.join(", ")})`,
    );
}

/** The widths the console must read well at: a laptop and a tablet held upright. */
export const LAPTOP = { width: 1366, height: 768 } as const;
export const TABLET = { width: 768, height: 1024 } as const;

/**
 * Saves screenshots of a main screen at laptop and tablet width (`<name>.png`, `<name>-tablet.png`)
 * and checks it with axe; returns the problems found: axe's serious and critical violations, and
 * a page that scrolls sideways on the tablet (wide tables must scroll in place).
 */
export async function screen(page: Page, name: string): Promise<string[]> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const before = page.viewportSize() ?? LAPTOP;
  await page.setViewportSize(LAPTOP);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  const problems = await axeViolations(page);
  await page.setViewportSize(TABLET);
  // Let the layout (and tables measuring whether they scroll) settle at the new width.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.screenshot({ path: join(ARTIFACTS, `${name}-tablet.png`), fullPage: true });
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (sideways > 0) problems.push(`tablet: the page scrolls sideways by ${sideways} px`);
  await page.setViewportSize(before);
  return problems;
}
