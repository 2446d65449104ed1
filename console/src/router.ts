/** Hash routes (`#/stores/shop.myshopify.com`): the hub serves one page, the browser keeps history. */
import { useEffect, useState } from "preact/hooks";

export function currentPath(): string {
  const h = window.location.hash.replace(/^#/, "");
  return h.startsWith("/") ? h : "/";
}

export function useRoute(): string {
  const [path, setPath] = useState(currentPath());
  useEffect(() => {
    const on = () => setPath(currentPath());
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return path;
}

export function navigate(path: string): void {
  window.location.hash = path;
}

/** Matches `/stores/:domain` against a path; returns the decoded params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const [pathOnly] = path.split("?");
  const p = pattern.split("/");
  const a = (pathOnly ?? "").split("/");
  if (p.length !== a.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(":")) out[seg.slice(1)] = decodeURIComponent(a[i]!);
    else if (seg !== a[i]) return null;
  }
  return out;
}

export const href = (path: string) => `#${path}`;
