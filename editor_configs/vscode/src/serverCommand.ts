/**
 * Finding the `codellama-lsp` executable. No `vscode` import, so the Node
 * tests can exercise it directly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SERVER_NAME = 'codellama-lsp';
/** Run in a checkout of the repository (the package is not on PyPI yet; then: `pipx install codellama-lsp`). */
export const INSTALL_COMMAND = 'pipx install .';

export interface ServerCommand {
    command: string;
    args: string[];
}

/** The server is missing or the configured path is wrong; the message says what to do. */
export class ServerNotFoundError extends Error {}

function isExecutableFile(file: string, platform: NodeJS.Platform): boolean {
    try {
        const stat = fs.statSync(file);
        if (!stat.isFile()) {
            return false;
        }
        if (platform !== 'win32') {
            fs.accessSync(file, fs.constants.X_OK);
        }
        return true;
    } catch {
        return false;
    }
}

/** `which`: the first executable called `name` on `searchPath` (PATH syntax), or undefined. */
export function findOnPath(
    name: string,
    searchPath: string | undefined,
    platform: NodeJS.Platform = process.platform,
    pathExt: string | undefined = process.env.PATHEXT,
): string | undefined {
    const delimiter = platform === 'win32' ? ';' : ':';
    const suffixes =
        platform === 'win32' ? ['', ...(pathExt ?? '.EXE;.CMD;.BAT').split(';')] : [''];
    for (const dir of (searchPath ?? '').split(delimiter)) {
        if (!dir) {
            continue;
        }
        for (const suffix of suffixes) {
            const candidate = path.join(dir, name + suffix);
            if (isExecutableFile(candidate, platform)) {
                return candidate;
            }
        }
    }
    return undefined;
}

/**
 * The command that starts the server: the configured path if set (it must
 * exist), otherwise `codellama-lsp` from PATH.
 */
export function resolveServerCommand(
    configuredPath: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
    platform: NodeJS.Platform = process.platform,
): ServerCommand {
    const configured = configuredPath.trim();
    if (configured) {
        if (!isExecutableFile(configured, platform)) {
            throw new ServerNotFoundError(
                `codellamaLsp.client.serverPath is "${configured}", which is not an executable file. ` +
                    `Fix the setting, or clear it to use ${SERVER_NAME} from PATH ` +
                    `(install it from a checkout of the codellama-lsp repository with \`${INSTALL_COMMAND}\`).`,
            );
        }
        return { command: configured, args };
    }
    const found = findOnPath(SERVER_NAME, env.PATH ?? env.Path, platform, env.PATHEXT);
    if (!found) {
        throw new ServerNotFoundError(
            `${SERVER_NAME} was not found on PATH. Install it from a checkout of the codellama-lsp ` +
                `repository with \`${INSTALL_COMMAND}\` (or \`pip install .\` in a virtualenv), ` +
                `or set codellamaLsp.client.serverPath to its full path.`,
        );
    }
    return { command: found, args };
}
