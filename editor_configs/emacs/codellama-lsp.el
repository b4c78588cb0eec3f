;;; codellama-lsp.el --- codellama-lsp with eglot  -*- lexical-binding: t; -*-

;; Put this in your init file (or load it), then `M-x eglot' in a buffer.
;;
;; Eglot has no LSP inline completion (ghost text) yet: suggestions arrive
;; through `completion-at-point' (the server's textDocument/completion
;; fallback), so they show in corfu/company like any completion; code
;; actions are `M-x eglot-code-actions'.  Eglot runs one server per major
;; mode: for the modes below, codellama-lsp replaces the server eglot would
;; otherwise start.

(require 'eglot)

(defvar codellama-lsp-settings
  '(:model "auto" :maxNewTokens 64)
  "Server settings: the same names as VS Code's codellamaLsp.* (see the README).")

(add-to-list 'eglot-server-programs
             `((python-mode python-ts-mode js-mode js-ts-mode typescript-ts-mode
                java-mode java-ts-mode c-mode c-ts-mode c++-mode c++-ts-mode)
               . ("codellama-lsp" "serve"
                  :initializationOptions ,codellama-lsp-settings)))

;; Sent on `eglot-signal-didChangeConfiguration' and when the server asks.
(setq-default eglot-workspace-configuration
              `(:codellamaLsp ,codellama-lsp-settings))

;; The first request waits for the model to load.
(setq eglot-connect-timeout 120)

(provide 'codellama-lsp)
;;; codellama-lsp.el ends here
