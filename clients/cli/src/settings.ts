// The home's settings (`natter config`), one small JSON file beside the rest of the home.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { parse } from "@natter/protocol";
import { CliError } from "./errors.ts";
import { writeAtomic } from "./home-store.ts";

export const Settings = z.object({
  v: z.literal(1),
  /** Send read receipts, and show those of others (off: neither, as in Signal). Delivered receipts are always sent. */
  readReceipts: z.boolean(),
});
export type Settings = z.infer<typeof Settings>;

export const DEFAULT_SETTINGS: Settings = { v: 1, readReceipts: true };

/** The settings `natter config` knows, by the name the command takes, each an on/off switch. */
export const SETTING_NAMES = { "read-receipts": "readReceipts" } as const satisfies Record<string, keyof Omit<Settings, "v">>;
export type SettingName = keyof typeof SETTING_NAMES;

const FILE = "settings.json";

export async function readSettings(homeDir: string): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(join(homeDir, FILE), "utf8");
  } catch (err) {
    if ((err as { code?: unknown }).code === "ENOENT") return DEFAULT_SETTINGS;
    throw err;
  }
  try {
    return parse(Settings, JSON.parse(text), "INTERNAL");
  } catch (cause) {
    throw new CliError("BAD_HOME", `${FILE} in the natter home is not understood`, { cause });
  }
}

export async function writeSettings(homeDir: string, settings: Settings): Promise<void> {
  await writeAtomic(join(homeDir, FILE), `${JSON.stringify(settings)}\n`);
}
