"""The job lifecycle, one concern per module:

- ``model``: the typed job, result and prediction, and the transition table;
- ``lifecycle``: the one place where a job changes status and where it ends;
- ``submission``: admitting a request and starting its prediction;
- ``status``: what a client sees of its job;
- ``prediction_events``: Replicate's webhooks, and the processor that follows them;
- ``outputs``: copying a prediction's files into our bucket;
- ``thumbnails``: the preview that completes a job;
- ``reconciliation``: catching up a quiet job with Replicate;
- ``notifier``: where "a job ended" goes.
"""
