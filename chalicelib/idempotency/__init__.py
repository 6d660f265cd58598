"""Idempotency-Key on POSTs (the IETF draft, and Stripe's practice): the first
response to a key is kept for 24 hours and replayed for every retry.

- ``record``: the typed record and its states;
- ``persistence``: the store interface;
- ``dynamodb``: the DynamoDB store;
- ``guard``: the rules (fingerprints, in-flight and reused keys, what is kept).
"""
