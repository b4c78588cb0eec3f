/**
 * Owns the language client: resolves the server command, starts and stops it,
 * forwards settings, and feeds the status bar from the client's state and the
 * server's `$/progress` reports. A new LanguageClient is made on every start so
 * a changed server path or arguments take effect on restart.
 */
import * as vscode from 'vscode';
import {
    DidChangeConfigurationNotification,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions,
    State as ClientState,
    CloseAction,
    CloseHandlerResult,
    ErrorAction,
    ProgressToken,
    WorkDoneProgressCreateRequest,
} from 'vscode-languageclient/node';
import { resolveServerCommand, ServerNotFoundError, INSTALL_COMMAND } from './serverCommand';
import { SECTION, serverSettingNames, serverSettings } from './serverSettings';
import { followProgress } from './progress';
import { StatusBar } from './status';
import { ServerProcess } from './serverProcess';

const STATS_METHOD = 'codellamaLsp/stats';
/** Like vscode-languageclient's default: a server that crashes this often stays stopped. */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 3 * 60 * 1000;

interface ServerStats {
    state?: 'idle' | 'loading' | 'ready' | 'failed'; // idle: not started yet
    error?: string | null;
    model?: string;
}

/**
 * A client without the popups it forces for a failed start or restart ("couldn't create
 * connection to server", "Restarting server failed"): the Controller reports those once,
 * in the server's own words. Other errors (a failed request) still show as usual.
 */
class Client extends LanguageClient {
    override error(message: string, data?: unknown, showNotification: boolean | 'force' = true): void {
        super.error(message, data, showNotification === 'force' ? false : showNotification);
    }
}

export class Controller implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private stopping = false;
    private readonly loading = new Set<ProgressToken>();
    private readonly names: string[];
    private server: ServerProcess | undefined; // the current process (a restart makes a new one)
    private running = false; // the current client reached Running at least once
    private crashes: number[] = [];
    private notified = false; // an error popup was shown since the server last ran

    constructor(
        context: vscode.ExtensionContext,
        private readonly log: vscode.LogOutputChannel,
        private readonly status: StatusBar,
    ) {
        this.names = serverSettingNames(context.extension.packageJSON);
    }

    get automatic(): boolean {
        return vscode.workspace.getConfiguration(SECTION).get<boolean>('client.automaticSuggestions', true);
    }

    /** The server's settings as VS Code resolves them (user, workspace, defaults). */
    currentSettings(): Record<string, unknown> {
        const config = vscode.workspace.getConfiguration(SECTION);
        return serverSettings(this.names, (name) => config.get(name));
    }

    async start(): Promise<void> {
        const config = vscode.workspace.getConfiguration(SECTION);
        let command;
        try {
            command = resolveServerCommand(
                config.get<string>('client.serverPath', ''),
                config.get<string[]>('client.serverArgs', ['serve']),
            );
        } catch (error) {
            if (error instanceof ServerNotFoundError) {
                this.fail(error.message, true);
                return;
            }
            throw error;
        }
        this.log.info(`Starting ${command.command} ${command.args.join(' ')}`);
        this.warnIfTraceHidden();
        const cwd = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
        // A function, not an Executable with `transport: stdio`: vscode-languageclient would
        // append `--stdio` to the arguments, and owning the process lets a failed start say why.
        const serverOptions: ServerOptions = async () => {
            const server = new ServerProcess(command.command, command.args, cwd);
            this.server = server;
            return { process: server.child, detached: false };
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
            outputChannel: this.log,
            initializationOptions: this.currentSettings(),
            initializationFailedHandler: () => false, // no retry, no popup: reported below
            errorHandler: {
                error: (_error, _message, count) => ({
                    action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
                    handled: true,
                }),
                closed: () => this.closed(client),
            },
            middleware: {
                // The server's textDocument/completion is for clients without ghost text. Asked
                // at the same keystroke, it would supersede the inline completion request.
                provideCompletionItem: () => undefined,
                provideInlineCompletionItems: (document, position, context, token, next) => {
                    if (!this.automatic && context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic) {
                        return undefined;
                    }
                    return next(document, position, context, token);
                },
            },
        };
        const client = new Client(`${SECTION}.client`, 'Code Llama', serverOptions, clientOptions);
        this.client = client;
        this.stopping = false;
        this.running = false;
        this.crashes = [];
        this.loading.clear();
        client.onDidChangeState((event) => {
            if (this.client !== client) {
                return;
            }
            if (event.newState === ClientState.Running) {
                this.running = true;
                this.notified = false;
                if (this.status.current.kind === 'error') {
                    void this.refreshModelState(client); // the client restarted it after a crash
                }
            }
        });
        this.status.set({ kind: 'starting' });
        try {
            await client.start();
        } catch (error) {
            if (this.client === client && !this.stopping) {
                await this.startFailed(error);
            }
            return;
        }
        // Replaces the client's own progress handler: progress shows in the status bar (and,
        // when the server allows cancelling, in a notification with a Cancel button).
        client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => this.track(client, token));
        if (this.loading.size === 0) {
            await this.refreshModelState(client);
        }
    }

    /** The server answered `initialize` with an error, or ended before answering: say why. */
    private async startFailed(error: unknown): Promise<void> {
        const server = this.server;
        const reason = await server?.exitReason(); // waits a moment for the process to end
        if (!server || server.running || reason === undefined) {
            // It answered `initialize` with an error and is still up: its answer is the reason.
            const message = error instanceof Error ? error.message : String(error);
            this.fail(`codellama-lsp failed to start: ${message}`, false);
            return;
        }
        this.fail(`codellama-lsp failed to start: ${reason}`, false, server.stderrTail.at(-1));
    }

    /**
     * The connection closed. Before the server ever ran (a bad command or arguments, a
     * missing dependency) restarting cannot help: `start` reports the server's own
     * message once. A crash later is restarted, up to MAX_CRASHES in CRASH_WINDOW_MS.
     */
    private closed(client: LanguageClient): CloseHandlerResult {
        if (this.client !== client || this.stopping || !this.running) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
        const server = this.server;
        const giveUp = this.crashes.length >= MAX_CRASHES;
        void (async () => {
            const reason = (await server?.exitReason()) ?? 'unknown reason';
            if (this.client !== client) {
                return;
            }
            if (giveUp) {
                const message = `codellama-lsp stopped ${MAX_CRASHES} times in 3 minutes and stays off: ${reason}`;
                this.fail(message, false, server?.stderrTail.at(-1));
            } else {
                const message = `codellama-lsp stopped unexpectedly: ${reason}`;
                this.log.error(`${message}; restarting it.`);
                this.status.set({ kind: 'error', message, summary: server?.stderrTail.at(-1) });
            }
        })();
        return { action: giveUp ? CloseAction.DoNotRestart : CloseAction.Restart, handled: true };
    }

    /**
     * vscode-languageclient logs the LSP messages only while the output channel's log
     * level is Trace; the setting alone does nothing, so say how to see them.
     */
    warnIfTraceHidden(): void {
        const trace = vscode.workspace.getConfiguration(SECTION).get<string>('client.trace.server', 'off');
        if (trace !== 'off' && this.log.logLevel !== vscode.LogLevel.Trace) {
            this.log.warn(
                `codellamaLsp.client.trace.server is "${trace}", but VS Code logs the LSP messages only while ` +
                    `this output channel's log level is Trace: set it with the gear icon of the Output panel ` +
                    `(or "Developer: Set Log Level…" → Code Llama → Trace).`,
            );
        }
    }

    /** Ask the server whether the model loaded (progress `end` says "done", not "ok"). */
    private async refreshModelState(client: LanguageClient): Promise<void> {
        if (!client.isRunning()) {
            return;
        }
        let stats: ServerStats | undefined;
        try {
            stats = await client.sendRequest<ServerStats>(STATS_METHOD, {});
        } catch {
            stats = undefined; // an older server without the request: assume ready
        }
        if (this.client !== client || this.loading.size > 0) {
            return;
        }
        if (stats?.state === 'failed') {
            // The server has already shown the message; the status bar keeps it.
            this.status.set({ kind: 'error', message: stats.error ?? 'The model failed to load.' });
        } else if (stats?.state === 'loading' || stats?.state === 'idle') {
            // Loading without a progress token we follow (a client without progress support
            // in between restarts): look again shortly.
            this.status.set({ kind: 'loading', message: 'Loading model' });
            setTimeout(() => void this.refreshModelState(client), 1000);
        } else {
            this.status.set({ kind: 'ready', model: stats?.model });
        }
    }

    private track(client: LanguageClient, token: ProgressToken): void {
        followProgress(client, token, (view) => {
            if (!view) {
                this.loading.delete(token);
                if (this.loading.size === 0) {
                    void this.refreshModelState(client);
                }
                return;
            }
            this.loading.add(token);
            const message = [view.title, view.message].filter(Boolean).join(': ');
            this.status.set({ kind: 'loading', message, percentage: view.percentage });
        });
    }

    /** Push changed server settings (workspace/didChangeConfiguration). */
    async sendSettings(): Promise<void> {
        if (!this.client?.isRunning()) {
            return;
        }
        await this.client.sendNotification(DidChangeConfigurationNotification.type, {
            settings: { [SECTION]: this.currentSettings() },
        });
    }

    async stop(): Promise<void> {
        const client = this.client;
        const server = this.server;
        this.client = undefined;
        this.server = undefined;
        this.stopping = true;
        if (client?.isRunning()) {
            try {
                await client.stop();
            } catch (error) {
                this.log.warn(`Stopping codellama-lsp: ${String(error)}`);
            }
        }
        // The client does not own a process it did not spawn: end it if `exit` did not.
        await server?.terminate(2000);
        this.status.set({ kind: 'stopped' });
    }

    /** A restart the user asked for (command, changed server path): its failure pops up again. */
    async restart(): Promise<void> {
        this.notified = false;
        await this.stop();
        await this.start();
    }

    /** Log it, show it in the status bar, and pop it up once until the server runs again. */
    private fail(message: string, offerInstall: boolean, summary?: string): void {
        this.log.error(message);
        this.status.set({ kind: 'error', message, summary });
        if (this.notified) {
            return;
        }
        this.notified = true;
        const actions = offerInstall ? ['Copy install command', 'Open settings', 'Show log'] : ['Show log'];
        void vscode.window.showErrorMessage(message, ...actions).then(async (choice) => {
            if (choice === 'Copy install command') {
                await vscode.env.clipboard.writeText(INSTALL_COMMAND);
            } else if (choice === 'Open settings') {
                await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.client`);
            } else if (choice === 'Show log') {
                this.log.show();
            }
        });
    }

    dispose(): void {
        void this.stop();
    }
}
