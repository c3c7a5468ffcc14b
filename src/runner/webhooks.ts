/**
 * The webhook posts of one run, through one queue: at most MAX_POSTS_IN_FLIGHT at once (daily mode on
 * a year of failing days once opened 62 connections at the receiver), and in daily mode at most
 * FAILURES_BEFORE_DIGEST failure posts per webhook; the failures after those are held back and sent as
 * ONE digest when the build ends (docs/running.md, "Modes and notifications", has its JSON). Nothing
 * here fails a run: a post that fails is a warning.
 */
import { redactUrl, redactUrlsIn } from '../core/redact.js';
import type { Poster } from './notify.js';

/** Webhook posts in flight at once, whatever the run sends. */
export const MAX_POSTS_IN_FLIGHT = 4;
/** Daily mode posts this many failures to one webhook one by one; later ones go into one digest. */
export const FAILURES_BEFORE_DIGEST = 10;

/** One root failure of daily mode, as its post carries it (without run id, pipeline and target). */
export interface FailureNote {
  readonly processor: string;
  readonly date: string;
  readonly category: string;
  readonly message: string;
}

/** A digest's entry: identical failures (processor, category, message) once, with their dates. */
export interface DigestGroup {
  readonly processor: string;
  readonly category: string;
  readonly count: number;
  readonly dates: readonly string[];
  readonly message: string;
}

export class Webhooks {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly sent: Promise<void>[] = [];
  /** Per webhook: failures posted one by one so far, and those held back for the digest. */
  private readonly posted = new Map<string, number>();
  private readonly heldBack = new Map<string, FailureNote[]>();

  constructor(
    private readonly post: Poster,
    private readonly warn: (message: string) => void,
    private readonly limit = MAX_POSTS_IN_FLIGHT,
    private readonly digestAfter = FAILURES_BEFORE_DIGEST,
  ) {}

  /** Queues `body` for every URL. */
  send(urls: readonly string[], body: unknown): void {
    for (const url of urls) this.sent.push(this.postOne(url, body));
  }

  /** Daily mode: posts the failure to `url` while fewer than digestAfter were; else holds it for the digest. */
  failure(url: string, note: FailureNote, envelope: Readonly<Record<string, unknown>>): void {
    const count = this.posted.get(url) ?? 0;
    if (count < this.digestAfter) {
      this.posted.set(url, count + 1);
      this.send([url], { event: 'failure', ...envelope, ...note });
      return;
    }
    const held = this.heldBack.get(url);
    if (held) held.push(note);
    else this.heldBack.set(url, [note]);
  }

  /** One digest per webhook that had failures held back (call once, when the build ended). */
  sendDigests(envelope: Readonly<Record<string, unknown>>): void {
    for (const [url, notes] of this.heldBack)
      this.send([url], { event: 'failure_digest', ...envelope, count: notes.length, posted: this.posted.get(url) ?? 0, failures: digestGroups(notes) });
    this.heldBack.clear();
  }

  /** Resolves when every post queued so far has been answered or has failed. */
  async settled(): Promise<void> {
    await Promise.all(this.sent);
  }

  private async postOne(url: string, body: unknown): Promise<void> {
    // A freed slot passes straight to the next waiter, so no newcomer can slip in between.
    if (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight += 1;
    try {
      const error = await this.post(url, body);
      if (error) this.warn(`webhook ${redactUrl(url)} failed: ${redactUrlsIn(error)}`);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight -= 1;
    }
  }
}

/** Identical failures once, in first-seen order, with their dates ascending. */
export function digestGroups(notes: readonly FailureNote[]): DigestGroup[] {
  const groups = new Map<string, { processor: string; category: string; message: string; dates: string[] }>();
  for (const note of notes) {
    const key = JSON.stringify([note.processor, note.category, note.message]);
    const group = groups.get(key);
    if (group) group.dates.push(note.date);
    else groups.set(key, { processor: note.processor, category: note.category, message: note.message, dates: [note.date] });
  }
  return [...groups.values()].map((g) => ({
    processor: g.processor,
    category: g.category,
    count: g.dates.length,
    dates: [...g.dates].sort(),
    message: g.message,
  }));
}
