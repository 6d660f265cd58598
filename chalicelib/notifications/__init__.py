"""Webhooks to clients: every job's end, signed (Standard Webhooks), delivered
from a queue with retries, each attempt recorded, never dropped silently.

- ``model``: endpoints, signing secrets, deliveries and the event payload;
- ``persistence``: the store interfaces; ``dynamodb``: their DynamoDB backends;
- ``endpoints``: what clients configure (POST/GET/DELETE /webhooks, the secret);
- ``dispatch``: from a job's end to one delivery per target;
- ``delivery``: one attempt, the retry schedule, and what each answer means.
"""
