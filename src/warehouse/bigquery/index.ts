// Placeholder until the adapter lands.
import type { BigqueryTarget } from '../../core/model.js';
import { UserError } from '../../core/diagnostics.js';
import type { OpenOptions } from '../open.js';
import type { Warehouse } from '../port.js';

export async function openBigquery(target: BigqueryTarget, _options: OpenOptions): Promise<Warehouse> {
  throw new UserError(`the bigquery adapter is not built yet (target ${target.name})`);
}
