"""The `appealbot` command line: `main` parses the verbs and runs serve, worker, match and db upgrade;
`policy_commands` and `appeal_commands` hold the import, export, users and appeals verbs; `chat` is the
terminal client that talks to a running server as WeChat does.
"""
