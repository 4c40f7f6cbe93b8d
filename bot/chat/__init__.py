"""The conversation with an enterprise: every inbound message is stored once (`inbox`), answered by the
`dialogue` (the matcher's policies, or the chat side of appeals in `appeals`), and every answer is stored
and delivered (`messages`, `notices`). `match_index` keeps the live matcher; `models` the conversation tables.
"""
