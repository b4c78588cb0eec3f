/**
 * Which `codellamaLsp.*` settings belong to the server. The extension's
 * package.json is the list (checked against the server's SETTINGS by the
 * Python tests); everything under `codellamaLsp.client.` stays in the editor.
 */
export const SECTION = 'codellamaLsp';
export const CLIENT_PREFIX = `${SECTION}.client.`;

interface Manifest {
    contributes?: { configuration?: { properties?: Record<string, unknown> } };
}

/** Server setting names (without the section) declared in the manifest. */
export function serverSettingNames(manifest: Manifest): string[] {
    const properties = manifest.contributes?.configuration?.properties ?? {};
    return Object.keys(properties)
        .filter((key) => key.startsWith(`${SECTION}.`) && !key.startsWith(CLIENT_PREFIX))
        .map((key) => key.slice(SECTION.length + 1));
}

/** The values to send: every server setting, read through `get` (which applies defaults). */
export function serverSettings(
    names: string[],
    get: (name: string) => unknown,
): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const name of names) {
        const value = get(name);
        if (value !== undefined) {
            values[name] = value;
        }
    }
    return values;
}
