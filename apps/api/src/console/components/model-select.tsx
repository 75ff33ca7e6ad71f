/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
export const DEFAULT_MODEL_VALUE = '__default__';

export interface ModelGroup {
  providerId: string;
  providerName: string;
  models: { id: string; name: string }[];
}

interface ModelSelectProps {
  name: string;
  id: string;
  groups: ModelGroup[];
  selected: string | null;
  /** Offers "Use default from settings" first (agents); the settings page itself does not. */
  defaultOption?: { current: string | null };
}

/**
 * One flat dropdown, one `<optgroup>` per configured provider. A saved value that is no longer
 * listed (its provider lost its key, or a `provider:model` id) stays selectable so saving the
 * form does not change it silently.
 */
export function ModelSelect({ name, id, groups, selected, defaultOption }: ModelSelectProps) {
  const listed = new Set(groups.flatMap((group) => group.models.map((model) => model.id)));
  const unlisted = selected && selected !== DEFAULT_MODEL_VALUE && !listed.has(selected) ? selected : null;
  return (
    <select name={name} id={id} required>
      {defaultOption && (
        <option value={DEFAULT_MODEL_VALUE} selected={selected === DEFAULT_MODEL_VALUE || selected === null}>
          {`Use default from settings (currently: ${defaultOption.current ?? 'not set'})`}
        </option>
      )}
      {!defaultOption && selected === null && (
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
            <option value={model.id} selected={model.id === selected}>
              {model.name === model.id ? model.id : `${model.name} (${model.id})`}
            </option>
          ))}
        </optgroup>
      ))}
    </select>
  );
}
