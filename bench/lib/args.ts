/**
 * Tiny flag parser for the benchmark scripts: `--name value`, `--name=value` and bare `--flag`.
 *
 * @module
 */

export type Flags = Map<string, string | true>;

export function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      flags.set(a.slice(2), next);
      i++;
    } else {
      flags.set(a.slice(2), true);
    }
  }
  return flags;
}

export function flagString(flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function flagNumber(flags: Flags, name: string, dflt: number): number {
  const v = flagString(flags, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
}

export function flagList(flags: Flags, name: string): number[] | undefined {
  const v = flagString(flags, name);
  if (v === undefined) return undefined;
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--${name} must be a comma list of positive integers, got ${v}`);
  return xs;
}

export function flagStrings(flags: Flags, name: string): string[] | undefined {
  const v = flagString(flags, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Progress and human output go to stderr, so stdout can end with one machine-readable JSON line. */
export function log(line: string): void {
  process.stderr.write(line + '\n');
}

/** `12.3 M/s`-style formatting. */
export function fmtOps(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M/s`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k/s`;
  return `${x.toFixed(0)} /s`;
}
