import { z } from "zod";

/** Largest encrypted profile, in base64url characters. */
export const MAX_PROFILE_BLOB = 64 * 1024;

/**
 * A user's profile (name, picture, about…) encrypted by the client under a profile key
 * it shares with contacts inside its end-to-end encrypted messages: opaque to the server.
 */
export const ProfileBlob = z.string().min(1).max(MAX_PROFILE_BLOB).regex(/^[A-Za-z0-9_-]+$/, "must be base64url");
