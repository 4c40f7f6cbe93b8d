"""The edge and the composition: everything between the outside world and the domains.

`app.py` builds the FastAPI app and `services.py` what the app and the worker share for their lifetime; the
rooms are `wechat/` (the protocol), `chat/` (the conversation), `web/` (pages and endpoints), `jobs/`
(the worker), `cli/` (the `appealbot` command) and `platform/` (settings, database, cache, logs, metrics,
migrations). `accounts.py` holds staff and admin accounts. The domains (`intents`, `policies`, `routing`)
never import anything from here. docs/architecture.md draws the path of one message.
"""
