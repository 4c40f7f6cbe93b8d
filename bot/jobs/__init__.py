"""Background work that must survive restarts (its state lives in the database): the worker loop, run inside
the server by default or as `appealbot worker` processes, and the appeal jobs it sweeps (escalations, staff
notices, updates to enterprises).
"""
