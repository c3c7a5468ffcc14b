import { beforeAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../src/config/load.js';
import { UserError } from '../src/core/diagnostics.js';
import type { Pipeline } from '../src/core/model.js';
import { readClosure, selectProcessors } from '../src/core/selection.js';
import { tempProject } from './support/cli.js';

// MLFS is declared first to show that order is topological, not declaration order.
const YAML = `version: 1
calendar: schedule
sources:
  schedule: { table: raw.schedule }
  boxscores: { table: raw.boxscores }
  odds: { table: raw.odds }
processors:
  MLFS: { table: p.mlfs, upstream: { PCF: same, PDC: same, MLFS: { offset: -1 } }, command: [x] }
  TDZA: { table: p.tdza, upstream: { boxscores: { lookback: 15d } }, command: [x] }
  PDC: { table: p.pdc, upstream: [boxscores], command: [x] }
  PCF: { table: p.pcf, upstream: [TDZA, PDC], command: [x] }
  ODDS: { table: p.odds, upstream: [odds], command: [x] }
`;

let pipeline: Pipeline;
beforeAll(async () => {
  const dir = tempProject({ 'pipeline.yaml': YAML }, 'dag-selection-');
  const outcome = await loadPipeline({ cwd: dir });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.diagnostics));
  pipeline = outcome.pipeline;
});

describe('selectProcessors', () => {
  it('selects everything, in topological order, when empty', () => {
    expect(selectProcessors(pipeline, undefined)).toEqual(['TDZA', 'PDC', 'PCF', 'MLFS', 'ODDS']);
    expect(selectProcessors(pipeline, ' ')).toEqual(['TDZA', 'PDC', 'PCF', 'MLFS', 'ODDS']);
  });

  it('names, comma lists, +NAME, NAME+ and +NAME+', () => {
    expect(selectProcessors(pipeline, 'PCF')).toEqual(['PCF']);
    expect(selectProcessors(pipeline, 'MLFS, TDZA')).toEqual(['TDZA', 'MLFS']);
    expect(selectProcessors(pipeline, '+PCF')).toEqual(['TDZA', 'PDC', 'PCF']);
    expect(selectProcessors(pipeline, 'PDC+')).toEqual(['PDC', 'PCF', 'MLFS']);
    expect(selectProcessors(pipeline, '+PCF+')).toEqual(['TDZA', 'PDC', 'PCF', 'MLFS']);
    expect(selectProcessors(pipeline, 'ODDS,TDZA+')).toEqual(['TDZA', 'PCF', 'MLFS', 'ODDS']);
  });

  it('an unknown name is a usage error listing the known names, with a suggestion', () => {
    let error: unknown;
    try {
      selectProcessors(pipeline, 'TDAZ+');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toContain("unknown processor 'TDAZ' (did you mean 'TDZA'?)");
    expect((error as UserError).hint).toBe('known processors: TDZA, PDC, PCF, MLFS, ODDS');
  });

  it('a source name or a malformed term is a usage error too', () => {
    expect(() => selectProcessors(pipeline, 'boxscores')).toThrow(/is a source, not a processor/);
    expect(() => selectProcessors(pipeline, '++')).toThrow(UserError);
    expect(() => selectProcessors(pipeline, 'P+CF')).toThrow(UserError);
  });
});

describe('readClosure', () => {
  it('is the selection, everything it reads transitively, and the calendar', () => {
    expect(readClosure(pipeline, ['PCF'])).toEqual(['schedule', 'boxscores', 'TDZA', 'PDC', 'PCF']);
    expect(readClosure(pipeline, ['ODDS'])).toEqual(['schedule', 'odds', 'ODDS']);
    expect(readClosure(pipeline, ['MLFS'])).toEqual(['schedule', 'boxscores', 'TDZA', 'PDC', 'PCF', 'MLFS']);
  });
});
