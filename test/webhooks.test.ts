/** The run's webhook queue (runner/webhooks.ts) with a poster the test answers by hand. */
import { describe, expect, it } from 'vitest';
import { digestGroups, Webhooks } from '../src/runner/webhooks.js';

/** A poster that holds every post until the test answers it; counts what is in flight. */
function heldPoster() {
  const held: { url: string; body: unknown; answered?: boolean; answer: (error?: string) => void }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const post = (url: string, body: unknown) =>
    new Promise<string | undefined>((resolve) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      held.push({
        url,
        body,
        answer: (error) => {
          inFlight--;
          resolve(error);
        },
      });
    });
  return { post, held, max: () => maxInFlight };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Webhooks', () => {
  it('keeps at most 4 posts in flight, even while new ones arrive as slots free up', async () => {
    const poster = heldPoster();
    const webhooks = new Webhooks(poster.post, () => undefined);
    webhooks.send(
      Array.from({ length: 9 }, (_, i) => `http://127.0.0.1/${i}`),
      { event: 'summary' },
    );
    await tick();
    expect(poster.held).toHaveLength(4);
    // A slot frees while another post is queued behind the five waiting ones.
    poster.held.shift()?.answer();
    webhooks.send(['http://127.0.0.1/late'], { event: 'summary' });
    await tick();
    expect(poster.max()).toBe(4);
    // Answer everything until all ten posts went out (each answer lets one waiting post in).
    let answered = 1;
    while (answered < 10) {
      for (const h of poster.held.splice(0)) {
        if (h.answered) continue;
        h.answered = true;
        h.answer();
        answered++;
      }
      await tick();
    }
    await webhooks.settled();
    expect(poster.max()).toBe(4);
  });

  it('posts 10 failures per webhook, then holds the rest for one digest per webhook; failed posts are warnings', async () => {
    const bodies: { url: string; body: { event: string; count?: number; posted?: number } }[] = [];
    const warnings: string[] = [];
    const webhooks = new Webhooks(
      async (url, body) => {
        bodies.push({ url, body: body as { event: string } });
        return url.endsWith('b') ? 'HTTP 500' : undefined;
      },
      (w) => warnings.push(w),
    );
    for (let day = 1; day <= 12; day++)
      webhooks.failure(
        'http://127.0.0.1/a',
        { processor: 'P', date: `2021-11-${String(day).padStart(2, '0')}`, category: 'PROCESSOR_ERROR', message: 'boom' },
        { run_id: 'r' },
      );
    webhooks.failure('http://127.0.0.1/b', { processor: 'Q', date: '2021-11-01', category: 'TIMEOUT', message: 'slow' }, { run_id: 'r' });
    webhooks.sendDigests({ run_id: 'r' });
    await webhooks.settled();
    const a = bodies.filter((b) => b.url.endsWith('a')).map((b) => b.body);
    expect(a.filter((b) => b.event === 'failure')).toHaveLength(10);
    expect(a.filter((b) => b.event === 'failure_digest')).toEqual([expect.objectContaining({ count: 2, posted: 10 })]);
    expect(bodies.filter((b) => b.url.endsWith('b')).map((b) => b.body.event)).toEqual(['failure']);
    expect(warnings).toEqual(['webhook http://127.0.0.1/… failed: HTTP 500']);
  });

  it('groups identical failures of a digest once, with their dates ascending', () => {
    const note = (processor: string, date: string, message: string) => ({ processor, date, category: 'PROCESSOR_ERROR', message });
    expect(digestGroups([note('P', '2021-11-03', 'x'), note('Q', '2021-11-01', 'y'), note('P', '2021-11-02', 'x')])).toEqual([
      { processor: 'P', category: 'PROCESSOR_ERROR', count: 2, dates: ['2021-11-02', '2021-11-03'], message: 'x' },
      { processor: 'Q', category: 'PROCESSOR_ERROR', count: 1, dates: ['2021-11-01'], message: 'y' },
    ]);
  });
});
