"""`kubedag code-server`: a code location served over HTTP with JSON, and its client.

- `snapshot`: what the code location defines, as stable, versioned data with a content hash;
- `wire`: the JSON forms of evaluation results, run requests and errors;
- `server`: the HTTP server (`CodeServer` answers, `CodeHTTPServer` adapts it to HTTP);
- `client`: `CodeServerClient`, for the operator and the daemon.

Imported only by the `code-server` command and by callers of the client, never by
`import kubedag`.
"""
