import { Name } from "@natter/protocol";
import { CliError } from "../errors.ts";

/** A username as typed, folded; INVALID_USERNAME when it cannot be one. */
export function parseUserName(user: string): string {
  const result = Name.safeParse(user);
  if (!result.success) throw new CliError("INVALID_USERNAME");
  return result.data;
}

/** A group name as typed (a leading `#` allowed), folded; INVALID_GROUP_NAME when it cannot be one. */
export function parseGroupName(name: string): string {
  const result = Name.safeParse(name.replace(/^#/, ""));
  if (!result.success) throw new CliError("INVALID_GROUP_NAME");
  return result.data;
}
