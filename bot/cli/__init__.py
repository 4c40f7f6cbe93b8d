"""The `appealbot` command line: `main` parses the verbs and runs serve, worker, match and db upgrade; one
module per command group (`policy_commands`, `user_commands`, `appeal_commands`, `enterprise_commands`,
`push_commands`, `redemption_commands`, `report_commands`) with what they share in `common`; `chat` is the
terminal client that talks to a running server as WeChat does.
"""
