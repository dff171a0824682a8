/** The bench's output: one row per figure, as a terminal table, JSON and Markdown. */
import { cpus, loadavg, totalmem } from "node:os";
import { execFileSync } from "node:child_process";

export interface Row {
  /** The scenario's name (`--scenario`), filled in by the harness. */
  bench?: string;
  /** The figure's group as printed. */
  scenario: string;
  figure: string;
  unit: string;
  natter: number | null;
  baseline?: number | null;
  /** natter ÷ baseline. */
  ratio?: number | null;
  /** The target as text, e.g. "≥ 0.5× baseline" or "≤ 2 ms". */
  target?: string;
  /** null: no target, or the figure could not be measured here. */
  met?: boolean | null;
  note?: string;
}

export interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  nats: string;
  postgres: string;
  loadAverageAtStart: number[];
  loadAverageAtEnd?: number[];
  fileLimit: { soft: number; hard: number };
}

export interface Report {
  startedAt: string;
  mode: string;
  scenarios: string[];
  durationS: number;
  machine: Machine;
  rows: Row[];
}

/** A figure compared with its baseline; `min` is the least acceptable ratio. */
export function ratioRow(r: Omit<Row, "ratio" | "met" | "target">, min?: number): Row {
  const ratio = r.natter !== null && r.baseline ? r.natter / r.baseline : null;
  return {
    ...r,
    ratio,
    ...(min === undefined ? {} : { target: `≥ ${min}× baseline`, met: ratio === null ? false : ratio >= min }),
  };
}

/** A figure with an upper bound (lower is better). */
export function atMostRow(r: Omit<Row, "met" | "target">, max: number): Row {
  const target = max === 0 ? "0" : `≤ ${max} ${r.unit}`.trim();
  return { ...r, target, met: r.natter === null ? null : r.natter <= max };
}

/** A figure with a lower bound (higher is better). */
export function atLeastRow(r: Omit<Row, "met" | "target">, min: number): Row {
  return { ...r, target: `≥ ${min} ${r.unit}`.trim(), met: r.natter === null ? null : r.natter >= min };
}

export function machineInfo(natsVersion: string, postgresVersion: string, fileLimit: Machine["fileLimit"]): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    nats: natsVersion,
    postgres: postgresVersion,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    fileLimit,
  };
}

export function natsServerVersion(): string {
  try {
    return execFileSync("nats-server", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

export function format(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value === 0 ? "0" : value.toPrecision(2);
}

function cells(row: Row): string[] {
  const unit = row.unit ? ` ${row.unit}` : "";
  return [
    row.scenario,
    row.figure,
    `${format(row.natter)}${row.natter === null ? "" : unit}`,
    row.baseline === undefined ? "" : `${format(row.baseline)}${row.baseline === null ? "" : unit}`,
    row.ratio === undefined || row.ratio === null ? "" : `${format(row.ratio)}×`,
    row.target ?? "",
    row.met === undefined || row.met === null ? (row.target ? "n/a" : "") : row.met ? "yes" : "NO",
  ];
}

const HEAD = ["scenario", "figure", "natter", "baseline", "ratio", "target", "met?"];

export function terminalTable(rows: Row[]): string {
  const body = rows.map(cells);
  const widths = HEAD.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `  · ${r.scenario} / ${r.figure}: ${r.note}`);
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line), ...(notes.length ? ["", "notes:", ...notes] : [])].join("\n");
}

export function markdown(report: Report): string {
  const m = report.machine;
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `# natter bench — ${report.startedAt} (${report.mode})`,
    "",
    `Scenarios: ${report.scenarios.join(", ")}; took ${Math.round(report.durationS)} s.`,
    "",
    "## Machine",
    "",
    `- ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB memory`,
    `- Node ${m.node}; ${m.nats}; PostgreSQL ${m.postgres}`,
    `- open-file limit ${m.fileLimit.soft} (hard ${m.fileLimit.hard})`,
    `- load average at start ${m.loadAverageAtStart.join(" / ")}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(" / ")}` : ""}` +
      " (1/5/15 min; anything well above 0 means other work shared the machine)",
    "",
    "## Results",
    "",
    `| ${HEAD.join(" | ")} |`,
    `| ${HEAD.map(() => "---").join(" | ")} |`,
    ...report.rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
    "",
    ...(report.rows.some((r) => r.note) ? ["## Notes", "", ...report.rows.filter((r) => r.note).map((r) => `- **${esc(r.scenario)} / ${esc(r.figure)}**: ${r.note}`), ""] : []),
  ].join("\n");
}
