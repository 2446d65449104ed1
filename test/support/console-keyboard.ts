/**
 * Driving the console with the keyboard alone: Tab until a control has the focus (checking on
 * the way that the focused control is drawn with a visible focus ring), then Enter, Space, typing
 * or arrow keys. Counts the key presses, as Effort counts clicks.
 */
import type { Locator, Page } from "playwright-core";

export class Keyboard {
  tabs = 0;
  keys = 0;
  constructor(readonly page: Page) {}

  /**
   * Presses Tab (Shift+Tab when `back`) until `target` has the focus; fails after `max` presses.
   * Every control reached on the way must show a visible focus indicator.
   */
  async tabTo(target: Locator, options: { max?: number; back?: boolean } = {}): Promise<void> {
    await target.waitFor();
    const max = options.max ?? 150;
    for (let i = 0; i < max; i++) {
      await this.page.keyboard.press(options.back ? "Shift+Tab" : "Tab");
      this.tabs++;
      const focus = await this.page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return { visible: true, what: "body" };
        const s = getComputedStyle(el);
        const outlined = s.outlineStyle !== "none" && Number.parseFloat(s.outlineWidth) >= 2;
        return {
          visible: outlined || s.boxShadow !== "none",
          what: `${el.tagName.toLowerCase()} ${el.getAttribute("aria-label") ?? el.id ?? ""} ${el.textContent?.trim().slice(0, 30) ?? ""}`,
        };
      });
      if (!focus.visible) throw new Error(`the focus on ${focus.what} is not visible`);
      if (await target.evaluate((el) => el === document.activeElement)) return;
    }
    throw new Error(`${max} Tab presses did not reach ${target}`);
  }

  async press(key: string): Promise<void> {
    this.keys++;
    await this.page.keyboard.press(key);
  }

  async type(text: string): Promise<void> {
    this.keys++;
    await this.page.keyboard.type(text);
  }
}
