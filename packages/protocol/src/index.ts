export { ERRORS, NatterError, assert, isErrorCode, type ErrorCode } from "./errors.ts";
export { parse } from "./parse.ts";
export { NAME_PATTERN, Name, foldName, isValidName, passwordProblem, PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES } from "./names.ts";
export { names, NAMESPACE_PATTERN, type Names } from "./subjects.ts";
export { DEFAULT_MAX_FRAME, FrameReader, decodeBody, encodeDeliverFrame, encodeFrame, encodeRecord, writeEncoded, writeFrame } from "./codec.ts";
export {
  PROTOCOL_VERSION, MAX_MESSAGE_BODY, GroupEvent, GroupRef, UserRef, Backup, LoginSecret, PasswordSalt, ClientFrame, InboxMessage, PrekeyBundle, PublicBundle, ServerFrame, SignedPrekey,
  type ClientFrameOf, type ClientFrameType, type ServerFrameOf,
} from "./frames.ts";
export { RpcReply, verb, type Verb, type VerbRequest, type VerbResult } from "./rpc.ts";
export { SessionSummary } from "./session-summary.ts";
export { AuthApi, BlockEvent, MAX_PROFILE_BLOB, ProfileBlob, PublicJwk, SessionEnded, SessionGrant, type AuthVerb } from "./auth-api.ts";
export { ChainEntryText, ChainHead, GroupApi, GroupChanged, GroupEnvelope, GroupMember, GroupRole, GroupSummary, GroupView, MAX_CHAIN_ENTRY, MAX_CHAIN_PAGE, MAX_INITIAL_MEMBERS, type GroupVerb } from "./group-api.ts";
export {
  EDGE_HEARTBEAT_MS, EdgeAddress, EdgeHeartbeat, EdgeInfo, EdgeName, MAX_ONLINE_BATCH, PresenceApi, PresenceEvent, PresenceFeed, PresenceOnline, PresenceSync, WhoEntry,
  type PresenceVerb,
} from "./presence-api.ts";
export { FilePayload, FileRef, PAYLOAD_VERSION, Payload, ProfileKey, ReceiptPayload, SenderKeyPayload, TextPayload, decodePayload, encodePayload } from "./payload.ts";
export { MAX_SEND_USAGE_BATCH, SendUsage } from "./send-usage.ts";
