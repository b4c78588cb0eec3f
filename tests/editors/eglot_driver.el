;;; eglot_driver.el --- drive eglot against codellama-lsp for the tests  -*- lexical-binding: t; -*-

;; Run by tests/editors/test_emacs_eglot.py:
;;   emacs --batch -Q -l eglot_driver.el WORKSPACE RESULT-FILE PYTHON CONFIG-FILE
;; Does what a user does: opens WORKSPACE/pkg/strs.py, starts eglot with
;; editor_configs/emacs/codellama-lsp.el, asks completion-at-point, runs
;; "Write docstring" and "Generate unit tests" through `eglot-code-actions'
;; (the menu answered by the title, the edit prompt by "y"), saves.
;; Results go to RESULT-FILE as JSON; the Python test checks them and the disk.

(require 'cl-lib)
(require 'json)

(let* ((args command-line-args-left)
       (workspace (file-name-as-directory (nth 0 args)))
       (result-file (nth 1 args))
       (python (nth 2 args))
       (config (nth 3 args))
       (results nil)
       (timeouts nil))
  (setq command-line-args-left nil)
  (cl-flet ((record (key value) (push (cons key value) results))
            (write-results ()
              (with-temp-file result-file
                (insert (json-encode results)))))
    (unwind-protect
        (condition-case err
        (progn
          ;; A user's setting for another server, which loading must keep.
          (setq-default eglot-workspace-configuration '(:pylsp (:plugins (:jedi (:enabled t)))))
          (setq codellama-lsp-command (list python "-m" "lsp_server" "serve"))
          (setq codellama-lsp-settings '(:model "bundled" :device "cpu" :maxNewTokens 24))
          (load config nil t)
          (record 'configuration (default-value 'eglot-workspace-configuration))
          (advice-add 'jsonrpc--async-request-1 :before
                      (lambda (_conn method &rest _)
                        (push (cons method jsonrpc-default-request-timeout) timeouts)))

          ;; The workspace is a project by its pyproject.toml (it has no VCS).
          (setq project-vc-extra-root-markers '("pyproject.toml"))
          (find-file (expand-file-name "pkg/strs.py" workspace))
          (python-mode)
          (apply #'eglot--connect (eglot--guess-contact))
          (let ((deadline (+ (float-time) 60)))
            (while (and (not (eglot-current-server)) (< (float-time) deadline))
              (accept-process-output nil 0.1)))
          (let ((server (eglot-current-server)))
            (record 'server_class (symbol-name (eieio-object-class server))))

          ;; Completion at point, right away: the answer waits for the model to load.
          (goto-char (point-min))
          (search-forward "self.items = []")
          (end-of-line)
          (insert "\n        self.")
          (let* ((capf (eglot-completion-at-point))
                 (start (nth 0 capf))
                 (end (nth 1 capf))
                 (table (nth 2 capf))
                 (candidates (all-completions (buffer-substring start end) table)))
            (record 'candidates candidates)
            (let ((before (buffer-string)))
              (completion-at-point)
              (record 'completed (not (equal before (buffer-string))))
              (record 'line_after (buffer-substring (line-beginning-position)
                                                    (line-end-position)))))
          ;; Put the file back as it was on disk before the code actions.
          (revert-buffer t t)
          (eglot--signal-textDocument/didChange)

          (cl-flet ((run-action (prefix needle)
                      (goto-char (point-min))
                      (search-forward needle)
                      (let ((last-nonmenu-event 13) ; a key, not a mouse click: no popup menu
                            (asked nil))
                        (cl-letf (((symbol-function 'completing-read)
                                   (lambda (_prompt collection &rest _)
                                     (or (cl-find-if (lambda (title) (string-prefix-p prefix title))
                                                     (all-completions "" collection))
                                         (error "No action %s in %S" prefix
                                                (all-completions "" collection)))))
                                  ((symbol-function 'y-or-n-p)
                                   (lambda (prompt) (push prompt asked) t)))
                          (eglot-code-actions (point) (point) nil t))
                        asked)))
            (run-action "Write docstring" "return total")
            (record 'docstring_buffer (buffer-string))
            (save-buffer)
            (let ((asked (run-action "Generate unit tests" "return \" \".join"))
                  (test-file (expand-file-name "tests/test_strs.py" workspace)))
              (record 'tests_prompt asked)
              (record 'tests_file_existed_before_save (file-exists-p test-file))
              (let ((buffer (find-buffer-visiting test-file)))
                (record 'tests_buffer (and buffer (with-current-buffer buffer (buffer-string))))
                (when buffer
                  (with-current-buffer buffer (save-buffer))))))
          (record 'timeouts
                  (cl-loop for (method . timeout) in timeouts
                           collect (vector (format "%s" method) timeout)))
          (record 'ok t))
          (error (record 'error (format "%S" err))))
      (write-results)
      (ignore-errors (eglot-shutdown (eglot-current-server) nil 5))
      (kill-emacs 0))))
