/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { DEFAULT_MODEL } from '@conveyor/core';

/** The option that saves an agent on the default model from settings. */
export const DEFAULT_MODEL_VALUE = DEFAULT_MODEL;

export interface ModelGroup {
  providerId: string;
  providerName: string;
  models: { id: string; name: string }[];
}

interface ModelSelectProps {
  name: string;
  id: string;
  groups: ModelGroup[];
  /** null: a new form (the default when one is set, else the first configured model). */
  selected: string | null;
  /** Offers "Use default" first (agents) when a default is set; the settings page itself does not. */
  defaultOption?: { current: string | null };
}

/**
 * One flat dropdown, one `<optgroup>` per configured provider. A saved value that is no longer
 * listed (its provider lost its key, or a `provider:model` id) stays selectable so saving the
 * form does not change it silently; so does a saved `__default__` while no default is set.
 */
export function ModelSelect({ name, id, groups, selected, defaultOption }: ModelSelectProps) {
  const listed = new Set(groups.flatMap((group) => group.models.map((model) => model.id)));
  const unlisted = selected && selected !== DEFAULT_MODEL_VALUE && !listed.has(selected) ? selected : null;
  const defaultSet = defaultOption?.current ?? null;
  const firstModel = groups[0]?.models[0]?.id ?? null;
  const choice = selected ?? (defaultOption ? (defaultSet ? DEFAULT_MODEL_VALUE : firstModel) : null);
  return (
    <select name={name} id={id} required>
      {defaultOption && defaultSet && (
        <option value={DEFAULT_MODEL_VALUE} selected={choice === DEFAULT_MODEL_VALUE}>
          {`Use default (currently: ${defaultSet})`}
        </option>
      )}
      {defaultOption && !defaultSet && choice === DEFAULT_MODEL_VALUE && (
        <option value={DEFAULT_MODEL_VALUE} selected>
          Use default (not set: runs are refused until Settings has one)
        </option>
      )}
      {choice === null && (
        <option value="" selected disabled>
          Choose a model
        </option>
      )}
      {unlisted && (
        <option value={unlisted} selected>
          {`${unlisted} (not offered by a configured provider)`}
        </option>
      )}
      {groups.map((group) => (
        <optgroup label={group.providerName} data-provider={group.providerId}>
          {group.models.map((model) => (
            <option value={model.id} selected={model.id === choice}>
              {model.name === model.id ? model.id : `${model.name} (${model.id})`}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}
