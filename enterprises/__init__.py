"""Enterprise profiles (一企一档): the register and what enterprises tell us, the tag vocabulary policies share,
bindings of WeChat users to their enterprise, and eligibility (which enterprises a policy's tags fit).

A domain like `policies` and `routing`: it never imports `bot`, and imports nothing of `policies` either
(the policy list depends on it, for the vocabulary and for eligibility).
"""
