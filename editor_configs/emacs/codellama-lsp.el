;;; codellama-lsp.el --- codellama-lsp with eglot  -*- lexical-binding: t; -*-

;; Put this in your init file (or load it), then `M-x eglot' in a buffer.
;; Needs Emacs 30 (eglot 1.17) or newer.
;;
;; Eglot has no LSP inline completion (ghost text) yet: suggestions arrive
;; through `completion-at-point' (the server's textDocument/completion
;; fallback), so they show in corfu/company like any completion; code
;; actions are `M-x eglot-code-actions'.  Eglot runs one server per major
;; mode: for the modes below, codellama-lsp replaces the server eglot would
;; otherwise start.
;;
;; What this file changes, for codellama-lsp only:
;; - requests to this server wait `codellama-lsp-request-timeout' seconds
;;   instead of jsonrpc's 10: the first completion waits for the model to
;;   load, and code actions run the model;
;; - the `:codellamaLsp' section is added to the default
;;   `eglot-workspace-configuration'; the sections of your other servers
;;   stay as they are.

(require 'cl-lib)
(require 'eglot)

(defgroup codellama-lsp nil
  "Code Llama completions and code actions through eglot."
  :group 'eglot)

(defcustom codellama-lsp-command '("codellama-lsp" "serve")
  "The server's command line."
  :type '(repeat string))

(defcustom codellama-lsp-settings '(:model "auto" :maxNewTokens 64)
  "Server settings: the same names as VS Code's codellamaLsp.* (see the README).
After changing it, run `codellama-lsp-apply-settings'."
  :type 'plist)

(defcustom codellama-lsp-request-timeout 120
  "Seconds a request to codellama-lsp may take before eglot gives up.
The first completion waits for the model to load (seconds on a CPU with
the bundled model, longer for Code Llama 7B), and code actions generate
up to a few hundred tokens."
  :type 'number)

(defcustom codellama-lsp-modes
  '(python-mode python-ts-mode js-mode js-ts-mode typescript-ts-mode
    java-mode java-ts-mode c-mode c-ts-mode c++-mode c++-ts-mode)
  "Major modes in which eglot starts codellama-lsp."
  :type '(repeat symbol))

(defclass codellama-lsp-server (eglot-lsp-server) ()
  :documentation "The codellama-lsp server: its own request timeout.")

(defun codellama-lsp--contact (&rest _)
  "How eglot starts the server; reads the options when it starts."
  `(codellama-lsp-server ,@codellama-lsp-command
                         :initializationOptions ,codellama-lsp-settings))

(defun codellama-lsp--with-timeout (request connection &rest args)
  "Call REQUEST; for codellama-lsp with `codellama-lsp-request-timeout'.
Only a request that names no timeout of its own gets the longer one."
  (if (and (cl-typep connection 'codellama-lsp-server)
           (not (plist-get (cddr args) :timeout)))
      (let ((jsonrpc-default-request-timeout
             (max jsonrpc-default-request-timeout codellama-lsp-request-timeout)))
        (apply request connection args))
    (apply request connection args)))

(advice-add 'jsonrpc-request :around #'codellama-lsp--with-timeout)
(advice-add 'jsonrpc-async-request :around #'codellama-lsp--with-timeout)

(defun codellama-lsp--merged-configuration (config)
  "CONFIG (eglot's plist, alist or function form) with our section set.
The other servers' sections are kept."
  (cond
   ((functionp config)
    (lambda (server)
      (codellama-lsp--merged-configuration (funcall config server))))
   ((and config (consp (car config)))   ; the alist form
    (cons (cons :codellamaLsp codellama-lsp-settings)
          (cl-remove-if (lambda (entry) (memq (car entry) '(:codellamaLsp codellamaLsp)))
                        config)))
   (t (plist-put (copy-sequence config) :codellamaLsp codellama-lsp-settings))))

(defun codellama-lsp-apply-settings ()
  "Send `codellama-lsp-settings' to running codellama-lsp servers."
  (interactive)
  (unless (functionp (default-value 'eglot-workspace-configuration))
    (setq-default eglot-workspace-configuration
                  (codellama-lsp--merged-configuration
                   (default-value 'eglot-workspace-configuration))))
  (dolist (server (cl-loop for servers being the hash-values of eglot--servers-by-project
                           append servers))
    (when (cl-typep server 'codellama-lsp-server)
      (jsonrpc-notify server :workspace/didChangeConfiguration
                      `(:settings (:codellamaLsp ,codellama-lsp-settings))))))

(add-to-list 'eglot-server-programs
             (cons codellama-lsp-modes #'codellama-lsp--contact))

;; Sent on `eglot-signal-didChangeConfiguration' and when the server asks.
(setq-default eglot-workspace-configuration
              (codellama-lsp--merged-configuration
               (default-value 'eglot-workspace-configuration)))

(provide 'codellama-lsp)
;;; codellama-lsp.el ends here
