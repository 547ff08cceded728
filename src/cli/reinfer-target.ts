/** The model a Reinfer command talks to, from its flags and env: shared by `predict` and `validation`. */
import { UsageError, optionOrEnv, type CliIO, type OptionValues } from './command.js';

export interface ReinferTarget {
  endpoint: string;
  token: string;
  project: string;
  dataset: string;
}

/** `--project`, `--dataset`, `--endpoint`/`--base-url` (env `REINFER_ENDPOINT`) and `REINFER_TOKEN`, or a UsageError saying which is missing. */
export function reinferTarget(values: OptionValues, io: CliIO): ReinferTarget {
  const { project, dataset } = values;
  if (typeof project !== 'string' || typeof dataset !== 'string') throw new UsageError('--project P and --dataset D are required');
  const token = io.env.REINFER_TOKEN;
  if (!token) throw new UsageError('set REINFER_TOKEN to your API token (or add --emulator to try a local emulator)');
  const endpoint = optionOrEnv(values, 'endpoint', io.env, 'REINFER_ENDPOINT') ?? optionOrEnv(values, 'base-url', io.env, 'REINFER_ENDPOINT');
  if (!endpoint) throw new UsageError('set REINFER_ENDPOINT (or --endpoint URL) to your tenant API endpoint');
  return { endpoint, token, project, dataset };
}
