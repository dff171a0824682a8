import type { FilePayload, ReceiptPayload, SenderKeyPayload, TextPayload } from "@natter/protocol";

/** What a payload carries for the clients rather than for the person: its version, the message id and the sender's profile key. */
type Envelope = "v" | "id" | "profileKey";

/** What a person sends and sees: a text or a file. */
export type Content = Omit<TextPayload, Envelope> | Omit<FilePayload, Envelope>;

/** What travels over a 1:1 session: content, my sender key for a group, or a receipt. */
export type DirectBody = Content | Omit<SenderKeyPayload, Envelope> | Omit<ReceiptPayload, Envelope>;
