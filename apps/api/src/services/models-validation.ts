import { UnknownModelError, type ProviderRegistry } from '@conveyor/core';
import { validationError } from '../errors.ts';

/** Saves `__default__` as is: the default model is resolved when the run executes. */
export const DEFAULT_MODEL = '__default__';

/** Throws a 400 naming the model unless the registry knows which provider serves it. */
export function assertKnownModel(registry: ProviderRegistry, model: string): void {
  if (model === DEFAULT_MODEL) return;
  try {
    registry.resolve(model);
  } catch (error) {
    if (error instanceof UnknownModelError) {
      throw validationError(`unknown model "${model}"`, [
        { path: ['model'], message: `no provider serves "${model}"; use a catalog model id, provider:model, or ${DEFAULT_MODEL}` },
      ]);
    }
    throw error;
  }
}
