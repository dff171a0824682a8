// The public face of @natter/crypto: end-to-end encryption over an injected provider of primitives.
export type { Bytes } from "./bytes.ts";
export { toBase64url, fromBase64url } from "./bytes.ts";
export { CryptoError, CRYPTO_ERROR_CODES, isCryptoError } from "./errors.ts";
export type { CryptoErrorCode } from "./errors.ts";
export { createPrimitives } from "./primitives.ts";
export type { Primitives, KeyPair } from "./primitives.ts";
export { createWebCryptoPrimitives, nodeSubtle, peculiarSubtle } from "./webcrypto-primitives.ts";
export type { SubtleCrypto } from "./webcrypto-primitives.ts";
export { DeviceIdentity, verifyBundle, verifyPrekeyBundle } from "./identity.ts";
export type { SignedPrekey, PublicBundle, PrekeyBundle, DeviceIdentityJSON } from "./identity.ts";
export { Session, WIRE_VERSION } from "./session.ts";
export type { SessionJSON } from "./session.ts";
export { MAX_SKIP, MAX_SKIPPED_KEYS } from "./ratchet.ts";
export {
  OutboundSenderKey,
  InboundSenderKeys,
  senderKeyGroupId,
  senderKeyMessageInfo,
  MAX_SENDER_KEY_JUMP,
  MAX_SENDER_KEY_SKIPPED,
  MAX_SENDER_KEY_STATES,
} from "./sender-keys.ts";
export type { OutboundSenderKeyJSON, InboundSenderKeysJSON, SenderKeyMessageInfo } from "./sender-keys.ts";
export { generateAttachmentKey, encryptAttachment, encryptedSize, decryptAttachment, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE } from "./attachment.ts";
export type { EncryptedAttachment } from "./attachment.ts";
export { safetyNumber } from "./safety-number.ts";
export {
  applyEntry, validateChain, parseEntry, signEntry, makeEntry, encodeEntry, entryHash, groupIdOf, chainMember, canonicalJson, headRelation, membershipDifference,
  CHAIN_VERSION, CHAIN_ERROR_CODES, MAX_CHAIN_MEMBERS, MAX_CHAIN_ENTRY_TEXT,
} from "./group-chain.ts";
export type {
  ChainEntry, UnsignedEntry, ChainOp, ChainOpType, ChainState, ChainMember, ChainMemberRef, ChainErrorCode, ChainResult, ParsedEntry,
  HeadRelation, MembershipDifference,
} from "./group-chain.ts";
export { generateProfileKey, sealProfile, openProfile, PROFILE_KEY_LENGTH } from "./profile.ts";
export { sealBackup, openBackup, encryptDeviceBackup, decryptDeviceBackup, MIN_BACKUP_ITERATIONS, sealBackupWithKey, openBackupWithKey } from "./backup.ts";
