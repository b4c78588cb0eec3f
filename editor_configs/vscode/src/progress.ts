/**
 * The server's work-done progress (model loading, code actions). The
 * extension answers `window/workDoneProgress/create` itself so it can show
 * progress in its status bar item; cancellable work (a code action running
 * the model) also gets a notification with a Cancel button that sends
 * `window/workDoneProgress/cancel`, as VS Code's own handling would.
 */
import * as vscode from 'vscode';
import {
    LanguageClient,
    ProgressToken,
    WorkDoneProgress,
    WorkDoneProgressCancelNotification,
} from 'vscode-languageclient/node';

export interface ProgressView {
    title: string;
    message?: string;
    percentage?: number;
}

/** Follow one token until its `end`; `update(undefined)` then says it is over. */
export function followProgress(
    client: LanguageClient,
    token: ProgressToken,
    update: (view: ProgressView | undefined) => void,
): void {
    let title = '';
    let notification: vscode.Progress<{ message?: string }> | undefined;
    let close: (() => void) | undefined;
    const disposable = client.onProgress(WorkDoneProgress.type, token, (value) => {
        if (value.kind === 'end') {
            disposable.dispose();
            close?.();
            update(undefined);
            return;
        }
        if (value.kind === 'begin') {
            title = value.title;
            if (value.cancellable) {
                void vscode.window.withProgress(
                    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
                    (progress, cancel) => {
                        notification = progress;
                        cancel.onCancellationRequested(() => {
                            void client.sendNotification(WorkDoneProgressCancelNotification.type, { token });
                        });
                        return new Promise<void>((resolve) => (close = resolve));
                    },
                );
            }
        }
        if (value.message) {
            notification?.report({ message: value.message });
        }
        update({ title, message: value.message, percentage: value.percentage });
    });
}
