/**
 * The status bar item: what the server is doing right now (starting, loading
 * the model with its progress, running a code action, ready, off, error). In the error state a click
 * opens the log, which is where the reason is.
 */
import * as vscode from 'vscode';

export type State =
    | { kind: 'starting' }
    | { kind: 'loading'; message: string; percentage?: number }
    | { kind: 'ready'; model?: string }
    | { kind: 'error'; message: string; summary?: string } // summary: a few words for the bar itself
    | { kind: 'stopped' };

export class StatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private state: State = { kind: 'stopped' };
    private automatic = true;

    constructor() {
        this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
        this.item.name = 'Code Llama';
        this.render();
        this.item.show();
    }

    get current(): State {
        return this.state;
    }

    set(state: State): void {
        this.state = state;
        this.render();
    }

    setAutomatic(automatic: boolean): void {
        this.automatic = automatic;
        this.render();
    }

    private render(): void {
        const item = this.item;
        const state = this.state;
        item.backgroundColor = undefined;
        item.command = 'codellamaLsp.showMenu';
        switch (state.kind) {
            case 'starting':
                item.text = '$(loading~spin) Code Llama';
                item.tooltip = 'Starting codellama-lsp…';
                break;
            case 'loading': {
                const pct = state.percentage === undefined ? '' : ` ${Math.round(state.percentage)}%`;
                item.text = `$(loading~spin) Code Llama${pct}`;
                item.tooltip = state.message;
                break;
            }
            case 'ready':
                item.text = this.automatic ? '$(sparkle) Code Llama' : '$(circle-slash) Code Llama';
                item.tooltip =
                    (this.automatic
                        ? 'Code Llama is ready: suggestions appear while you type.'
                        : 'Code Llama is ready: automatic suggestions are off (Alt+\\ asks for one).') +
                    (state.model ? `\nModel: ${state.model}` : '');
                break;
            case 'error':
                item.text = state.summary ? `$(error) Code Llama: ${shorten(state.summary, 60)}` : '$(error) Code Llama';
                item.tooltip = `${state.message}\nClick to show the log.`;
                item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
                item.command = 'codellamaLsp.showLog';
                break;
            case 'stopped':
                item.text = '$(debug-stop) Code Llama';
                item.tooltip = 'codellama-lsp is not running.';
                break;
        }
    }

    dispose(): void {
        this.item.dispose();
    }
}

function shorten(text: string, max: number): string {
    return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
