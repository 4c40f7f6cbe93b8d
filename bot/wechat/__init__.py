"""The WeChat official-account protocol behind one seam; the only package that imports wechatpy.

`protocol` opens what WeChat posts (signatures, AES envelopes, message XML) and seals replies; `api` calls
WeChat (access token, customer-service and template messages); `peer` plays WeChat's side for the chat
simulator, the terminal client, tests and benchmarks; `standin` fakes WeChat's API for those.
"""
