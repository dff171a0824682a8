import { open } from "node:fs/promises";
import { z } from "zod";
import { openProfile, sealProfile, type Primitives } from "@natter/crypto";
import { FileRef, MAX_PROFILE_BLOB, parse } from "@natter/protocol";
import { CliError } from "./errors.ts";
import { localFile, MAX_FILE_SIZE, type LocalFile } from "./files.ts";

/** The largest avatar, in bytes. */
export const MAX_AVATAR_SIZE = 5 * 1024 * 1024;
/** Encrypted profiles are padded to a multiple of this many bytes, so their size says little. */
const PROFILE_PADDING = 256;

/** The image types an avatar may be, by their first bytes, with the extension a saved one gets. */
const IMAGE_TYPES = [
  { mime: "image/png", ext: ".png", magic: (b: Buffer) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { mime: "image/jpeg", ext: ".jpg", magic: (b: Buffer) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: "image/gif", ext: ".gif", magic: (b: Buffer) => ["GIF87a", "GIF89a"].includes(b.subarray(0, 6).toString("latin1")) },
  { mime: "image/webp", ext: ".webp", magic: (b: Buffer) => b.subarray(0, 4).toString("latin1") === "RIFF" && b.subarray(8, 12).toString("latin1") === "WEBP" },
] as const;

/** Where an avatar is stored: a file like any other (its own key, digest), known by its image type. */
export const AvatarRef = FileRef.omit({ name: true }).extend({
  mime: z.enum(IMAGE_TYPES.map((t) => t.mime)),
  size: z.number().int().nonnegative().max(MAX_AVATAR_SIZE),
});
export type AvatarRef = z.infer<typeof AvatarRef>;

/** A profile as it is encrypted under the profile key. */
export const Profile = z.object({
  name: z.string().max(64).optional(),
  status: z.string().max(280).optional(),
  avatar: AvatarRef.optional(),
});
export type Profile = z.infer<typeof Profile>;

/** Encrypts a profile under the profile key, padded with spaces, ready for `profile {put}`. */
export async function sealMyProfile(p: Primitives, key: Uint8Array, profile: Profile): Promise<string> {
  const checked = Profile.safeParse(profile);
  if (!checked.success) throw new CliError("USAGE", "a name is at most 64 characters, a status at most 280");
  const json = new TextEncoder().encode(JSON.stringify(checked.data));
  const padded = new Uint8Array(Math.ceil((json.length + 1) / PROFILE_PADDING) * PROFILE_PADDING).fill(0x20);
  padded.set(json);
  const blob = await sealProfile(p, key, padded);
  if (blob.length > MAX_PROFILE_BLOB) throw new CliError("USAGE", "the profile is too large");
  return blob;
}

/** Opens a stored profile; PROFILE_UNREADABLE when it was not sealed under this key (or is not a profile). */
export async function openStoredProfile(p: Primitives, key: Uint8Array, blob: string): Promise<Profile> {
  try {
    const bytes = await openProfile(p, key, blob);
    return parse(Profile, JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)), "INTERNAL");
  } catch (cause) {
    throw new CliError("PROFILE_UNREADABLE", undefined, { cause });
  }
}

/**
 * Checks a picture for use as an avatar before anything is sent: a readable file of at most
 * MAX_AVATAR_SIZE whose first bytes say PNG, JPEG, GIF or WebP (whatever its name says).
 */
export async function avatarFile(path: string): Promise<LocalFile> {
  const file = await localFile(path, undefined, MAX_FILE_SIZE);
  if (file.size > MAX_AVATAR_SIZE) throw new CliError("AVATAR_TOO_LARGE");
  const head = Buffer.alloc(16);
  const handle = await open(path, "r");
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const type = IMAGE_TYPES.find((t) => t.magic(head));
  if (!type) throw new CliError("NOT_AN_IMAGE");
  return { ...file, name: `avatar${type.ext}`, mime: type.mime };
}

/** The name a contact's avatar is saved under: theirs, and which upload it is (so showing it again reuses the file). */
export function avatarFileName(username: string, avatar: AvatarRef): string {
  const ext = IMAGE_TYPES.find((t) => t.mime === avatar.mime)?.ext ?? "";
  return `${username}-avatar-${avatar.digest.slice(0, 10)}${ext}`;
}
