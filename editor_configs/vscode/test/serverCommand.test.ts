/** Finding the server and choosing which settings go to it (no VS Code needed). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findOnPath, INSTALL_COMMAND, resolveServerCommand, ServerNotFoundError } from '../src/serverCommand';
import { serverSettingNames, serverSettings } from '../src/serverSettings';

function tempDir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'codellama-lsp-'));
}

function executable(dir: string, name: string, mode = 0o755): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, '#!/bin/sh\n');
    fs.chmodSync(file, mode);
    return file;
}

test('the server is found on PATH, skipping non-executable files', { skip: process.platform === 'win32' }, () => {
    const [a, b] = [tempDir(), tempDir()];
    executable(a, 'codellama-lsp', 0o644);
    const good = executable(b, 'codellama-lsp');
    assert.equal(findOnPath('codellama-lsp', `${a}:${b}`, 'linux'), good);
    assert.deepEqual(resolveServerCommand('', ['serve'], { PATH: `${a}:${b}` }, 'linux'), {
        command: good,
        args: ['serve'],
    });
});

test('a missing server gives the install command', () => {
    const empty = tempDir();
    assert.throws(
        () => resolveServerCommand('', ['serve'], { PATH: empty }, process.platform),
        (error: Error) => error instanceof ServerNotFoundError && error.message.includes(INSTALL_COMMAND),
    );
});

test('a configured path must be an executable file', { skip: process.platform === 'win32' }, () => {
    const dir = tempDir();
    const file = executable(dir, 'my-server');
    assert.deepEqual(resolveServerCommand(` ${file} `, ['serve'], {}, 'linux'), { command: file, args: ['serve'] });
    assert.throws(() => resolveServerCommand(path.join(dir, 'nope'), [], {}, 'linux'), ServerNotFoundError);
    assert.throws(() => resolveServerCommand(dir, [], {}, 'linux'), ServerNotFoundError);
});

test('only non-client settings go to the server, with their effective values', () => {
    const manifest = {
        contributes: {
            configuration: {
                properties: {
                    'codellamaLsp.model': { default: 'auto' },
                    'codellamaLsp.maxNewTokens': { default: 64 },
                    'codellamaLsp.client.serverPath': { default: '' },
                    'other.setting': { default: 1 },
                },
            },
        },
    };
    const names = serverSettingNames(manifest);
    assert.deepEqual(names, ['model', 'maxNewTokens']);
    const values: Record<string, unknown> = { model: 'bundled', maxNewTokens: 16, 'client.serverPath': '/x' };
    assert.deepEqual(serverSettings(names, (n) => values[n]), { model: 'bundled', maxNewTokens: 16 });
});
