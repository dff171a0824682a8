import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fromBase64url } from "@natter/crypto";
import { Name } from "@natter/protocol";
import type { Invocation } from "../invocation.ts";
import { CliError, EXIT, exitCodeFor, toCliError } from "../errors.ts";
import type { Link } from "../transport/link.ts";
import type { Messenger } from "../messaging/messenger.ts";
import { formatSize, printable } from "../output.ts";
import type { AvatarRef, Profile } from "../profile.ts";

/** What `profile set` was given: only what is given changes; an empty name or status clears it. */
export interface ProfileChanges {
  name?: string;
  status?: string;
  avatar?: string;
}

/** `natter profile set [--name n] [--status s] [--avatar path]`. */
export async function profileSetCommand(ctx: Invocation, changes: ProfileChanges): Promise<void> {
  // A wrong picture is refused before anything connects.
  if (changes.avatar !== undefined) await (await import("../profile.ts")).avatarFile(changes.avatar);
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await profileSet(ctx, link, await ctx.messenger(() => link), changes);
  } finally {
    await link.close();
  }
}

/** `natter profile show [user]`. */
export async function profileShowCommand(ctx: Invocation, user: string | undefined): Promise<void> {
  const link = await ctx.link({ receive: "off", persistent: false });
  try {
    await profileShow(ctx, link, await ctx.messenger(() => link), user);
  } finally {
    await link.close();
  }
}

/**
 * Merges the changes into my current profile, uploads a new avatar encrypted like any
 * file, and stores the profile encrypted under my profile key. The server keeps only
 * ciphertext; contacts get the key inside my messages.
 */
export async function profileSet(ctx: Invocation, link: Link, messenger: Messenger, changes: ProfileChanges): Promise<void> {
  if (changes.name === undefined && changes.status === undefined && changes.avatar === undefined) {
    throw new CliError("USAGE", "profile set [--name <name>] [--status <status>] [--avatar <image>]");
  }
  const [{ avatarFile, openStoredProfile, sealMyProfile }, { uploadFile }, p, progress] = await Promise.all([
    import("../profile.ts"), import("../files.ts"), ctx.deps.primitives(), ctx.progress(),
  ]);
  const avatar = changes.avatar === undefined ? undefined : await avatarFile(changes.avatar);
  const key = await messenger.profileKey();
  const { blob: stored } = await link.call({ t: "profile" }, "profile");
  let profile: Profile = {};
  if (stored !== null) {
    try {
      profile = await openStoredProfile(p, key, stored);
    } catch {
      ctx.printer.status("your profile on the server was made with a profile key this home does not have: starting a new one");
    }
  }
  for (const field of ["name", "status"] as const) {
    const value = changes[field]?.trim();
    if (value === undefined) continue;
    if (value === "") delete profile[field];
    else profile[field] = value;
  }
  if (avatar) {
    const { name: _, ...ref } = await uploadFile(p, () => link.connectionNow(), avatar, progress);
    profile.avatar = { ...ref, mime: avatar.mime as AvatarRef["mime"] };
  }
  await link.call({ t: "profile", put: { blob: await sealMyProfile(p, key, profile) } }, "profile");
  const me = (await (await ctx.home()).readAccount())?.username ?? "";
  ctx.printer.result(
    ["profile saved", ...describe(profile, profile.avatar ? `${formatSize(profile.avatar.size)} ${profile.avatar.mime}` : undefined)].join("\n"),
    { user: me, name: profile.name ?? null, status: profile.status ?? null, avatar: profile.avatar ? { size: profile.avatar.size, mime: profile.avatar.mime } : null, saved: true },
  );
}

/**
 * Shows a profile: mine, or a contact's opened with the profile key their messages carried.
 * The avatar is downloaded (checked like any file) into the download folder.
 */
export async function profileShow(ctx: Invocation, link: Link, messenger: Messenger, user: string | undefined): Promise<void> {
  const [{ openStoredProfile }, p, home] = await Promise.all([import("../profile.ts"), ctx.deps.primitives(), ctx.home()]);
  const me = await home.readAccount();
  if (!me) throw new CliError("NOT_LOGGED_IN");
  let username: string;
  let blob: string | null;
  let key: Uint8Array | undefined;
  const name = user === undefined ? me.username : Name.safeParse(user);
  if (typeof name !== "string" && !name.success) throw new CliError("INVALID_USERNAME");
  const wanted = typeof name === "string" ? name : name.data;
  if (wanted === me.username) {
    username = me.username;
    blob = (await link.call({ t: "profile" }, "profile")).blob;
    key = blob === null ? undefined : await messenger.profileKey();
  } else {
    const of = await link.call({ t: "profileOf", user: wanted }, "profileOf");
    username = of.username;
    blob = of.blob;
    const stored = (await home.readContacts())[of.userId]?.profileKey;
    key = stored === undefined ? undefined : fromBase64url(stored);
    if (blob !== null && key === undefined) {
      throw new CliError("NO_PROFILE_KEY", `no profile key from ${username} yet: they share it when they message you`);
    }
  }
  if (blob === null || key === undefined) {
    ctx.printer.result(username === me.username ? "you have no profile yet: natter profile set --name <name>" : `${username} has no profile yet`, {
      user: username, name: null, status: null, avatar: null,
    });
    return;
  }
  const profile = await openStoredProfile(p, key, blob).catch((err: unknown) => {
    if (username === me.username) throw new CliError("PROFILE_UNREADABLE", "your profile was made with a profile key this home does not have: set it again with natter profile set");
    throw err;
  });
  const avatar = profile.avatar ? await saveAvatar(ctx, link, username, profile.avatar) : undefined;
  ctx.printer.result([username, ...describe(profile, avatar)].join("\n"), {
    user: username, name: profile.name ?? null, status: profile.status ?? null, avatar: avatar ?? null,
  });
}

/**
 * Downloads an avatar into the download folder as `<user>-avatar-<digest>.<ext>`; one
 * saved before (the same upload, the same size) is used as it is. An avatar that can no
 * longer be fetched (files expire) is reported and left out.
 */
async function saveAvatar(ctx: Invocation, link: Link, username: string, avatar: AvatarRef): Promise<string | undefined> {
  const [{ avatarFileName }, { downloadFile, safeFileName }, p, progress] = await Promise.all([
    import("../profile.ts"), import("../files.ts"), ctx.deps.primitives(), ctx.progress(),
  ]);
  const name = safeFileName(avatarFileName(username, avatar));
  const path = join(ctx.downloadDir, name);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isFile() && existing.size === avatar.size) return path;
  try {
    return (await downloadFile(p, await link.connectionNow(), { ...avatar, name }, ctx.downloadDir, progress)).path;
  } catch (err) {
    const e = toCliError(err);
    if (exitCodeFor(e.code) === EXIT.NO_SERVICE) throw e;
    ctx.printer.status(`${username}'s avatar could not be fetched: ${e.message}`);
    return undefined;
  }
}

function describe(profile: Profile, avatar: string | undefined): string[] {
  return [
    `  name:   ${profile.name === undefined ? "-" : printable(profile.name)}`,
    `  status: ${profile.status === undefined ? "-" : printable(profile.status)}`,
    `  avatar: ${avatar === undefined ? "-" : printable(avatar)}`,
  ];
}
