// Placeholder until the adapter lands.
import type { DuckdbTarget } from '../../core/model.js';
import { UserError } from '../../core/diagnostics.js';
import type { OpenOptions } from '../open.js';
import type { Warehouse } from '../port.js';

export async function openDuckdb(target: DuckdbTarget, _options: OpenOptions): Promise<Warehouse> {
  throw new UserError(`the duckdb adapter is not built yet (target ${target.name})`);
}
