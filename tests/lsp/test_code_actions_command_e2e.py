"""Code actions for a client without `codeAction/resolve`: a command, then applyEdit."""

from __future__ import annotations

from lsprotocol import types

from tests.support.code_action_client import Editor, Rejected
from tests.support.code_actions import OPTIONS, SOURCES, actions_at, position_of
from tests.support.lsp import open_doc


async def test_client_without_resolve_gets_a_command_and_stale_applyedit_is_refused(
    client, tmp_path
):
    """Via `workspace/applyEdit`, the pytest-lsp client applying LSP's version rule."""
    name, source, inside, _ = SOURCES["python"]
    editor = Editor()
    uri = (tmp_path / name).as_uri()
    editor.docs[uri] = ("# typed meanwhile\n" + source, 2)
    received = []

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        received.append(params.edit)
        try:
            editor.apply(params.edit)
        except Rejected as exc:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=str(exc))
        return types.ApplyWorkspaceEditResult(applied=True)

    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                workspace=types.WorkspaceClientCapabilities(
                    apply_edit=True,
                    workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
                )
            ),
            initialization_options=OPTIONS,
            root_uri=tmp_path.as_uri(),
        )
    )
    open_doc(client, uri, source)
    actions = await actions_at(client, uri, source, inside)
    # lsprotocol's client-side converter reads an action with a `command`
    # as a bare Command; editors tell them apart by the type of `command`.
    assert "codellama.applyCodeAction" in str(actions[0])
    position = position_of(source, inside)
    data = {
        "action": "docstring",
        "uri": uri,
        "version": 1,
        "line": position.line,
        "character": position.character,
    }
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="codellama.applyCodeAction", arguments=[data])
    )
    assert applied is False
    assert received and received[0].document_changes[0].text_document.version == 1
    assert editor.text(uri) == "# typed meanwhile\n" + source
