/**
 * The server process, spawned by the extension rather than by the language
 * client so that a failed start can be explained in the server's own words
 * (the last line it wrote to stderr and its exit status) instead of the
 * client's "connection got disposed". Plain stdio: no `--stdio` is appended.
 * No `vscode` import, so the Node tests exercise it directly.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';

const TAIL_LINES = 20;

export interface ExitStatus {
    code: number | null;
    signal: NodeJS.Signals | null;
    error?: Error; // the process could not be spawned at all
}

export class ServerProcess {
    readonly child: ChildProcess;
    /** Resolves once the process has ended and its stdio is drained. */
    readonly ended: Promise<ExitStatus>;
    /** Resolves as soon as the process has ended. */
    readonly exited: Promise<void>;
    private readonly tail: string[] = [];
    private status: ExitStatus | undefined;

    constructor(command: string, args: string[], cwd?: string) {
        this.child = spawn(command, args, { cwd, stdio: 'pipe' });
        this.exited = new Promise((resolve) => {
            this.child.once('error', (error) => {
                this.status = { code: null, signal: null, error };
                resolve();
            });
            this.child.once('exit', (code, signal) => {
                this.status ??= { code, signal };
                resolve();
            });
        });
        // 'close' also waits for stderr to drain, unless a grandchild holds it open.
        this.ended = new Promise((resolve) => {
            this.child.once('close', () => resolve(this.status!));
            this.child.once('error', () => resolve(this.status!));
        });
        readline.createInterface({ input: this.child.stderr!, crlfDelay: Infinity }).on('line', (line) => {
            if (line.trim()) {
                this.tail.push(line.trim());
                this.tail.splice(0, this.tail.length - TAIL_LINES);
            }
        });
    }

    get running(): boolean {
        return this.status === undefined && this.child.exitCode === null && this.child.signalCode === null;
    }

    /** The last non-empty stderr lines, oldest first. */
    get stderrTail(): readonly string[] {
        return this.tail;
    }

    /**
     * Why the process ended: its last stderr line (argparse's usage error, a
     * Python exception) and its exit status. Waits up to `waitMs` for the end.
     */
    async exitReason(waitMs = 3000): Promise<string> {
        await Promise.race([this.ended, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
        return describeExit(this.status, this.tail.at(-1));
    }

    /** Kill the process if it is still running after `graceMs` (a well-behaved server exits on `exit`). */
    async terminate(graceMs: number): Promise<void> {
        if (!this.running) {
            return;
        }
        const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
        await this.exited;
        clearTimeout(timer);
    }
}

/** "<last stderr line> (exit code 2)", or just the status when the server said nothing. */
export function describeExit(status: ExitStatus | undefined, lastLine: string | undefined): string {
    let how: string;
    if (status === undefined) {
        how = 'still running';
    } else if (status.error) {
        how = status.error.message;
    } else if (status.signal) {
        how = `killed by ${status.signal}`;
    } else {
        how = `exit code ${status.code}`;
    }
    return lastLine ? `${lastLine} (${how})` : `the server ended without a message (${how})`;
}
