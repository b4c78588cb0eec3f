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
    TransportKind,
    ProgressToken,
    WorkDoneProgressCreateRequest,
} from 'vscode-languageclient/node';
import { resolveServerCommand, ServerNotFoundError, INSTALL_COMMAND } from './serverCommand';
import { SECTION, serverSettingNames, serverSettings } from './serverSettings';
import { followProgress } from './progress';
import { StatusBar } from './status';

const STATS_METHOD = 'codellamaLsp/stats';

interface ServerStats {
    state?: 'idle' | 'loading' | 'ready' | 'failed'; // idle: not started yet
    error?: string | null;
    model?: string;
}

export class Controller implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private stopping = false;
    private readonly loading = new Set<ProgressToken>();
    private readonly names: string[];

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
        const serverOptions: ServerOptions = {
            command: command.command,
            args: command.args,
            transport: TransportKind.stdio,
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
            outputChannel: this.log,
            initializationOptions: this.currentSettings(),
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
        const client = new LanguageClient(`${SECTION}.client`, 'Code Llama', serverOptions, clientOptions);
        this.client = client;
        this.stopping = false;
        this.loading.clear();
        client.onDidChangeState((event) => {
            if (this.client !== client) {
                return;
            }
            if (event.newState === ClientState.Stopped && !this.stopping) {
                this.fail('codellama-lsp stopped unexpectedly.', false);
            } else if (event.newState === ClientState.Running && this.status.current.kind === 'error') {
                void this.refreshModelState(client); // the client restarted it after a crash
            }
        });
        this.status.set({ kind: 'starting' });
        try {
            await client.start();
        } catch (error) {
            this.fail(`codellama-lsp failed to start: ${String(error)}`, false);
            return;
        }
        // Replaces the client's own progress handler: progress shows in the status bar (and,
        // when the server allows cancelling, in a notification with a Cancel button).
        client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => this.track(client, token));
        if (this.loading.size === 0) {
            await this.refreshModelState(client);
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
        this.client = undefined;
        this.stopping = true;
        if (client?.isRunning()) {
            await client.stop();
        }
        this.status.set({ kind: 'stopped' });
    }

    async restart(): Promise<void> {
        await this.stop();
        await this.start();
    }

    private fail(message: string, offerInstall: boolean): void {
        this.log.error(message);
        this.status.set({ kind: 'error', message });
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
