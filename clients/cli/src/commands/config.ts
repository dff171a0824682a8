import type { Invocation } from "../invocation.ts";
import { CliError } from "../errors.ts";
import { SETTING_NAMES, type SettingName } from "../settings.ts";

/** `natter config [<setting> [on|off]]`: shows every setting, one, or changes one. */
export async function configCommand(ctx: Invocation, name: string | undefined, value: string | undefined): Promise<void> {
  const { readSettings, writeSettings } = await import("../settings.ts");
  await ctx.home();
  const settings = await readSettings(ctx.homeDir);
  const names = Object.keys(SETTING_NAMES) as SettingName[];
  if (name === undefined) {
    for (const n of names) ctx.printer.result(`${n} ${settings[SETTING_NAMES[n]] ? "on" : "off"}`, { setting: n, value: settings[SETTING_NAMES[n]] ? "on" : "off" });
    return;
  }
  if (!names.includes(name as SettingName)) throw new CliError("USAGE", `unknown setting ${name} (settings: ${names.join(", ")})`);
  const key = SETTING_NAMES[name as SettingName];
  if (value === undefined) {
    ctx.printer.result(`${name} ${settings[key] ? "on" : "off"}`, { setting: name, value: settings[key] ? "on" : "off" });
    return;
  }
  if (value !== "on" && value !== "off") throw new CliError("USAGE", `config ${name} on|off`);
  await writeSettings(ctx.homeDir, { ...settings, [key]: value === "on" });
  ctx.printer.result(`${name} ${value}`, { setting: name, value });
}
