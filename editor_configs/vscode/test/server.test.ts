/**
 * The real server, driven the way VS Code drives it: the protocol code VS Code
 * uses (vscode-languageserver-protocol / vscode-jsonrpc), VS Code's client
 * capabilities, and the extension's own settings payloads. Runs the bundled
 * model on the CPU.
 *
 * Server command: CODELLAMA_LSP_TEST_SERVER (e.g. "codellama-lsp serve"), else
 * `$PYTHON -m lsp_server` (PYTHON defaults to python3) in the repository root.
 */
import { spawn, ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
    CodeAction,
    CodeActionRequest,
    CodeActionResolveRequest,
    ConfigurationRequest,
    createProtocolConnection,
    DidChangeConfigurationNotification,
    DidOpenTextDocumentNotification,
    ExitNotification,
    InitializedNotification,
    InitializeRequest,
    InitializeResult,
    InlineCompletionItem,
    InlineCompletionList,
    InlineCompletionRequest,
    InlineCompletionTriggerKind,
    ProtocolConnection,
    RegistrationRequest,
    ShutdownRequest,
    StreamMessageReader,
    StreamMessageWriter,
    TextEdit,
    WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { vscodeClientCapabilities, VSCODE_VERSION } from './vscodeCapabilities';
import { serverSettingNames, serverSettings } from '../src/serverSettings';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const manifest = require(path.join(ROOT, 'editor_configs', 'vscode', 'package.json'));
const URI = 'file:///tmp/codellama-lsp-vscode-test/stack.py';
const TEXT = 'class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.';
const CURSOR = { line: 5, character: 13 };
const ADD_URI = 'file:///tmp/codellama-lsp-vscode-test/add.py';
const ADD = 'def add(a, b):\n    total = a + b\n    return total\n';

/** The settings the extension would send, with test overrides (as a user's settings.json). */
function settings(overrides: Record<string, unknown>): Record<string, unknown> {
    const names = serverSettingNames(manifest);
    const properties = manifest.contributes.configuration.properties;
    return serverSettings(names, (name) =>
        name in overrides ? overrides[name] : properties[`codellamaLsp.${name}`].default,
    );
}

function serverCommand(): [string, string[]] {
    const configured = process.env.CODELLAMA_LSP_TEST_SERVER?.trim();
    if (configured) {
        const [command, ...args] = configured.split(/\s+/);
        return [command, args];
    }
    return [process.env.PYTHON || 'python3', ['-m', 'lsp_server', 'serve']];
}

function items(result: InlineCompletionList | InlineCompletionItem[] | null): InlineCompletionItem[] {
    if (!result) return [];
    return Array.isArray(result) ? result : result.items;
}

function text(item: InlineCompletionItem): string {
    return typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
}

/** Apply single-document TextEdits the way VS Code does (all ranges refer to the original text). */
function applyEdits(original: string, edits: TextEdit[]): string {
    const lines = original.split('\n');
    const offset = (p: { line: number; character: number }) =>
        lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    const sorted = [...edits].sort((a, b) => offset(b.range.start) - offset(a.range.start));
    let out = original;
    for (const edit of sorted) {
        out = out.slice(0, offset(edit.range.start)) + edit.newText + out.slice(offset(edit.range.end));
    }
    return out;
}

describe('codellama-lsp with VS Code client capabilities', () => {
    let server: ChildProcess;
    let connection: ProtocolConnection;
    let init: InitializeResult;
    let exited: Promise<number | null>;
    let stderr = '';
    const current = { value: settings({ model: 'bundled', device: 'cpu', maxNewTokens: 24 }) };

    before(async () => {
        const [command, args] = serverCommand();
        server = spawn(command, args, {
            cwd: ROOT,
            env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1', TOKENIZERS_PARALLELISM: 'false' },
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        server.stderr!.on('data', (chunk) => (stderr += chunk));
        exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
        connection = createProtocolConnection(
            new StreamMessageReader(server.stdout!),
            new StreamMessageWriter(server.stdin!),
        );
        // What VS Code answers to the server's own requests.
        connection.onRequest(ConfigurationRequest.type, (params) =>
            params.items.map((item) => (item.section === 'codellamaLsp' || !item.section ? current.value : null)),
        );
        connection.onRequest(RegistrationRequest.type, () => undefined);
        connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
        connection.listen();
        init = await connection.sendRequest(InitializeRequest.type, {
            processId: process.pid,
            clientInfo: { name: 'Visual Studio Code', version: VSCODE_VERSION },
            locale: 'en',
            rootUri: 'file:///tmp/codellama-lsp-vscode-test',
            capabilities: vscodeClientCapabilities(),
            initializationOptions: current.value,
            trace: 'off',
            workspaceFolders: [{ uri: 'file:///tmp/codellama-lsp-vscode-test', name: 'test' }],
        });
        await connection.sendNotification(InitializedNotification.type, {});
        for (const [uri, content] of [
            [URI, TEXT],
            [ADD_URI, ADD],
        ]) {
            await connection.sendNotification(DidOpenTextDocumentNotification.type, {
                textDocument: { uri, languageId: 'python', version: 1, text: content },
            });
        }
    });

    after(() => {
        connection?.dispose();
        if (server && server.exitCode === null) server.kill();
    });

    test('initialize announces inline completion in UTF-16', () => {
        assert.ok(init.capabilities.inlineCompletionProvider, 'no inlineCompletionProvider');
        assert.ok([undefined, 'utf-16'].includes(init.capabilities.positionEncoding));
    });

    let first = '';
    test('inline completion at the cursor returns ghost text', async () => {
        const result = await connection.sendRequest(InlineCompletionRequest.type, {
            textDocument: { uri: URI },
            position: CURSOR,
            context: { triggerKind: InlineCompletionTriggerKind.Automatic, selectedCompletionInfo: undefined },
        });
        const found = items(result);
        assert.ok(found.length > 0, `no suggestion; server stderr:\n${stderr}`);
        first = text(found[0]);
        assert.ok(first.length > 0);
        const range = found[0].range;
        if (range) {
            assert.equal(range.start.line, CURSOR.line);
            assert.equal(range.end.line, CURSOR.line);
        }
    });

    test('a configuration change takes effect on the next request', async () => {
        current.value = settings({ model: 'bundled', device: 'cpu', maxNewTokens: 2 });
        await connection.sendNotification(DidChangeConfigurationNotification.type, {
            settings: { codellamaLsp: current.value },
        });
        const result = await connection.sendRequest(InlineCompletionRequest.type, {
            textDocument: { uri: URI },
            position: CURSOR,
            context: { triggerKind: InlineCompletionTriggerKind.Invoked, selectedCompletionInfo: undefined },
        });
        const short = items(result).map(text)[0] ?? '';
        // Greedy decoding: two tokens are the start of the 24-token answer (or dropped as too short).
        assert.ok(short.length < first.length, `${JSON.stringify(short)} vs ${JSON.stringify(first)}`);
        assert.ok(first.startsWith(short), `${JSON.stringify(short)} is not a prefix of ${JSON.stringify(first)}`);
    });

    test('the docstring code action resolves to an edit that adds a docstring', async (t) => {
        if (!init.capabilities.codeActionProvider) {
            t.skip('the server does not offer code actions yet');
            return;
        }
        const actions = await connection.sendRequest(CodeActionRequest.type, {
            textDocument: { uri: ADD_URI },
            range: { start: { line: 1, character: 4 }, end: { line: 1, character: 4 } },
            context: { diagnostics: [], triggerKind: 1 },
        });
        const docstring = (actions ?? []).find(
            (a): a is CodeAction => 'title' in a && /docstring/i.test(a.title) && !('arguments' in a),
        );
        assert.ok(docstring, `no docstring action in ${JSON.stringify(actions)}`);
        const resolved = docstring.edit
            ? docstring
            : await connection.sendRequest(CodeActionResolveRequest.type, docstring);
        const edit = resolved.edit;
        assert.ok(edit, 'resolved action has no edit');
        let edits: TextEdit[] = edit.changes?.[ADD_URI] ?? [];
        for (const change of edit.documentChanges ?? []) {
            if ('textDocument' in change && change.textDocument.uri === ADD_URI) {
                edits = edits.concat(change.edits as TextEdit[]);
            }
        }
        assert.ok(edits.length > 0, `no edit for the file in ${JSON.stringify(edit)}`);
        const after = applyEdits(ADD, edits);
        assert.ok(after.includes('"""'), after);
        assert.ok(after.startsWith('def add(a, b):\n'), after);
        assert.ok(after.endsWith('    total = a + b\n    return total\n'), after);
    });

    test('shutdown then exit ends the server with status 0', async () => {
        await connection.sendRequest(ShutdownRequest.type);
        await connection.sendNotification(ExitNotification.type);
        assert.equal(await exited, 0);
    });
});
