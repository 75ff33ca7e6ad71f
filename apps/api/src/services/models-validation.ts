import { DEFAULT_MODEL, findModel, UnknownModelError, type ProviderRegistry } from '@conveyor/core';
import { validationError } from '../errors.ts';

/**
 * Why a model id cannot be saved, or null when it can. A bare id must be in the catalog
 * (so a typo such as `claude-sonet-4-5` is caught when it is typed, not when a run fails);
 * a model outside the catalog is named explicitly as `provider:model` of a registered provider.
 */
export function unknownModelReason(registry: ProviderRegistry, model: string): string | null {
  const explicit = model.indexOf(':') > 0;
  if (!explicit && !findModel(model)) {
    return `"${model}" is not in the model catalog; use a catalog model id (GET /v1/models), provider:model (e.g. openai:${model}), or ${DEFAULT_MODEL}`;
  }
  try {
    registry.resolve(model);
    return null;
  } catch (error) {
    if (error instanceof UnknownModelError) {
      return `no provider serves "${model}"; use a catalog model id, provider:model, or ${DEFAULT_MODEL}`;
    }
    throw error;
  }
}

/** Throws a 400 naming the model unless it is `__default__`, a catalog id, or `provider:model`. */
export function assertKnownModel(registry: ProviderRegistry, model: string, path: (string | number)[] = ['model']): void {
  if (model === DEFAULT_MODEL) return;
  const reason = unknownModelReason(registry, model);
  if (reason) throw validationError(`unknown model "${model}"`, [{ path, message: reason }]);
}
