/**
 * The client capabilities VS Code announces for this extension, computed by
 * vscode-languageclient's own feature code (the same version the extension
 * ships) rather than written by hand. vscode-languageclient needs the `vscode`
 * module, which only exists inside VS Code, so a stand-in that answers every
 * property is put in its place: computing capabilities only reads constants.
 */
import Module from 'node:module';
import type { ClientCapabilities } from 'vscode-languageserver-protocol';

export const VSCODE_VERSION = '1.105.0';

function standIn(): unknown {
    const cache: Record<string | symbol, unknown> = {};
    const handler: ProxyHandler<() => void> = {
        get(target, prop) {
            if (prop === '__esModule') return true;
            if (prop === 'version') return VSCODE_VERSION;
            if (prop === 'then') return undefined;
            if (prop in target) return Reflect.get(target, prop);
            if (!(prop in cache)) cache[prop] = standIn();
            return cache[prop];
        },
        construct: () => standIn() as object,
        apply: () => standIn(),
    };
    return new Proxy(function () {}, handler);
}

export function vscodeClientCapabilities(): ClientCapabilities {
    const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
    const original = loader._load;
    const vscode = standIn();
    loader._load = function (request: string, ...rest: unknown[]) {
        return request === 'vscode' ? vscode : original.call(this, request, ...rest);
    };
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { LanguageClient } = require('vscode-languageclient/node');
        const client = new LanguageClient('codellamaLsp.client', 'Code Llama', { command: 'unused' }, {
            documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
        });
        return client.computeClientCapabilities() as ClientCapabilities;
    } finally {
        loader._load = original;
    }
}
