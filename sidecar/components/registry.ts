import type { Component, ComponentKind, ComponentRegistration } from './component.js';
import { NAMERESOLUTION_REGISTRATIONS } from './nameresolution/registrations.js';
import { SECRET_REGISTRATIONS } from './secretstores/registrations.js';
import { STATE_REGISTRATIONS } from './state/registrations.js';

/**
 * The component registry: `spec.type` (+ `spec.version`) → factory and metadata schema.
 * Registration is explicit, in the one list below; nothing registers itself on import.
 */

/** Every built-in component. Add new kinds' registration lists here. */
export const BUILTIN_REGISTRATIONS: readonly ComponentRegistration[] = [
  ...SECRET_REGISTRATIONS,
  ...STATE_REGISTRATIONS,
  ...NAMERESOLUTION_REGISTRATIONS,
];

/** Result of a lookup: the registration, or why there is none. */
export type RegistryLookup =
  | { readonly ok: true; readonly registration: ComponentRegistration; readonly version: string }
  | { readonly ok: false; readonly rule: string; readonly field: 'spec.type' | 'spec.version' };

/** Maps component types and versions to registrations. */
export class ComponentRegistry {
  readonly #byType = new Map<string, ComponentRegistration>();

  constructor(registrations: readonly ComponentRegistration[]) {
    for (const reg of registrations) {
      if (this.#byType.has(reg.type)) throw new Error(`component type ${reg.type} is registered twice`);
      if (!reg.type.startsWith(`${reg.kind}.`))
        throw new Error(`component type ${reg.type} does not start with its kind ${reg.kind}`);
      if (reg.versions.length === 0) throw new Error(`component type ${reg.type} has no versions`);
      this.#byType.set(reg.type, reg);
    }
  }

  /** Finds the registration for a type and version (empty version = the registration's default). */
  lookup(type: string, version: string): RegistryLookup {
    const reg = this.#byType.get(type);
    if (reg === undefined) {
      const kind = type.split('.')[0] ?? '';
      const sameKind = this.types().filter((t) => t.startsWith(`${kind}.`));
      const hint =
        sameKind.length > 0
          ? `; known ${kind} types: ${sameKind.join(', ')}`
          : `; known types: ${this.types().join(', ')}`;
      return { ok: false, field: 'spec.type', rule: `unknown component type "${type}"${hint}` };
    }
    const resolved = version === '' ? (reg.versions[0] ?? '') : version;
    if (!reg.versions.includes(resolved)) {
      return {
        ok: false,
        field: 'spec.version',
        rule: `version "${version}" is not supported for ${type}; supported: ${reg.versions.join(', ')}`,
      };
    }
    return { ok: true, registration: reg, version: resolved };
  }

  /** Registered types, sorted. */
  types(): string[] {
    return [...this.#byType.keys()].sort();
  }

  /** The kind of a registered type, if any. */
  kindOf(type: string): ComponentKind | undefined {
    return this.#byType.get(type)?.kind;
  }
}

/** Creates a registry over the built-in list (or a given list, for tests). */
export function createRegistry(
  registrations: readonly ComponentRegistration<Component>[] = BUILTIN_REGISTRATIONS,
): ComponentRegistry {
  return new ComponentRegistry(registrations);
}
