/**
 * The extension's own server process: a failed start is explained in the
 * server's words, and `serve --stdio` (what a client with `transport: stdio`
 * sends) is accepted by the real server.
 */
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeExit, ServerProcess } from '../src/serverProcess';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const PYTHON = process.env.PYTHON || 'python3';

test('an argparse error from the real server is the reason, with its exit code', async () => {
    const server = new ServerProcess(PYTHON, ['-m', 'lsp_server', 'serve', '--no-such-flag'], ROOT);
    const reason = await server.exitReason(60_000);
    assert.match(reason, /unrecognized arguments: --no-such-flag .*\(exit code 2\)$/);
    assert.equal(server.running, false);
});

test('serve --stdio is accepted: the server answers shutdown and exits 0', async () => {
    const server = new ServerProcess(PYTHON, ['-m', 'lsp_server', 'serve', '--stdio'], ROOT);
    let stdout = '';
    server.child.stdout!.on('data', (chunk) => (stdout += chunk));
    for (const message of [
        // LSP: requests before `initialize` are refused, and `exit` without an
        // accepted `shutdown` exits 1.
        { jsonrpc: '2.0', id: 0, method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } },
        { jsonrpc: '2.0', id: 1, method: 'shutdown' },
        { jsonrpc: '2.0', method: 'exit' },
    ]) {
        const body = JSON.stringify(message);
        server.child.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    const status = await server.ended;
    assert.equal(status.code, 0, server.stderrTail.join('\n'));
    assert.match(stdout, /"id": ?1/);
});

test('a missing executable and a signal are described too', async () => {
    const missing = new ServerProcess('/nonexistent/codellama-lsp', ['serve']);
    assert.match(await missing.exitReason(10_000), /ENOENT/);
    const sleeper = new ServerProcess('sleep', ['60']);
    sleeper.child.kill('SIGTERM');
    assert.equal(await sleeper.exitReason(10_000), 'the server ended without a message (killed by SIGTERM)');
    assert.equal(describeExit(undefined, 'x'), 'x (still running)');
});

test('terminate ends a server that ignores exit', async () => {
    const server = new ServerProcess('sh', ['-c', 'trap "" TERM; exec sleep 60']);
    await server.terminate(200);
    assert.equal(server.running, false);
});
