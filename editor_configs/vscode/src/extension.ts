/**
 * Entry point: starts the server, registers the commands and follows setting
 * changes. The inline completion itself is vscode-languageclient's native
 * mapping of LSP `textDocument/inlineCompletion` to VS Code ghost text.
 */
import * as vscode from 'vscode';
import { Controller } from './controller';
import { SECTION } from './serverSettings';
import { StatusBar } from './status';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const log = vscode.window.createOutputChannel('Code Llama', { log: true });
    const status = new StatusBar();
    controller = new Controller(context, log, status);
    const ctl = controller;
    status.setAutomatic(ctl.automatic);
    context.subscriptions.push(log, status, ctl);

    const commands: Record<string, () => unknown> = {
        'codellamaLsp.toggleAutomatic': async () => {
            const config = vscode.workspace.getConfiguration(SECTION);
            await config.update('client.automaticSuggestions', !ctl.automatic, vscode.ConfigurationTarget.Global);
        },
        'codellamaLsp.trigger': () => vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
        'codellamaLsp.restart': () => ctl.restart(),
        'codellamaLsp.showLog': () => log.show(),
        'codellamaLsp.showMenu': async () => {
            const picks: { label: string; command: string }[] = [
                {
                    label: ctl.automatic ? 'Turn automatic suggestions off' : 'Turn automatic suggestions on',
                    command: 'codellamaLsp.toggleAutomatic',
                },
                { label: 'Suggest now', command: 'codellamaLsp.trigger' },
                { label: 'Restart server', command: 'codellamaLsp.restart' },
                { label: 'Show log', command: 'codellamaLsp.showLog' },
            ];
            const pick = await vscode.window.showQuickPick(picks, { title: 'Code Llama' });
            if (pick) {
                await vscode.commands.executeCommand(pick.command);
            }
        },
    };
    for (const [id, handler] of Object.entries(commands)) {
        context.subscriptions.push(vscode.commands.registerCommand(id, handler));
    }

    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration(async (event) => {
            if (!event.affectsConfiguration(SECTION)) {
                return;
            }
            status.setAutomatic(ctl.automatic);
            if (event.affectsConfiguration(`${SECTION}.client.trace.server`)) {
                ctl.warnIfTraceHidden();
            }
            if (
                event.affectsConfiguration(`${SECTION}.client.serverPath`) ||
                event.affectsConfiguration(`${SECTION}.client.serverArgs`)
            ) {
                await ctl.restart();
            } else {
                await ctl.sendSettings();
            }
        }),
    );

    await ctl.start();
}

export async function deactivate(): Promise<void> {
    await controller?.stop();
    controller = undefined;
}
