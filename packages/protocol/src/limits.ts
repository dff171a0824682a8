/** Caps one sealed message; files travel in chunks, not in messages. */
export const MAX_MESSAGE_BODY = 256 * 1024;
